/**
 * What an error from the database means, whichever driver raised it (postgres.js or PGlite) and
 * however often it was wrapped on the way (drizzle puts the driver's error in `cause`). Every
 * predicate walks the same chain: the error, then its causes.
 */

interface DriverError {
  /** SQLSTATE (postgres.js, PGlite) or a Node/postgres.js connection code. */
  code?: unknown;
  constraint?: unknown;
  constraint_name?: unknown;
  cause?: unknown;
}

/** The error and its causes, outermost first. */
function* causeChain(error: unknown): Generator<DriverError> {
  for (let e = error as DriverError | undefined; e && typeof e === 'object'; e = e.cause as DriverError | undefined) yield e;
}

function codeOf(e: DriverError): string {
  return typeof e.code === 'string' ? e.code : '';
}

/** PostgreSQL's unique_violation (23505), of the named constraint if one is given. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  for (const e of causeChain(error)) {
    if (codeOf(e) === '23505') return constraint === undefined || (e.constraint_name ?? e.constraint) === constraint;
  }
  return false;
}

/**
 * PostgreSQL rolled the transaction back to break a deadlock (40P01) or a serialization failure
 * (40001): the same work may simply run again. (A lost connection is not such a case: the commit
 * may have happened.)
 */
export function isConflictAbort(error: unknown): boolean {
  for (const e of causeChain(error)) if (codeOf(e) === '40P01' || codeOf(e) === '40001') return true;
  return false;
}

/**
 * The database cannot be reached or is going away: a lost, refused or timed-out connection, or the
 * server shutting down or starting up (57P0x, class 08). The statement itself was not at fault; the
 * same work can succeed once the database is back (docs/operations.md, PostgreSQL away).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const e of causeChain(error)) {
    const code = codeOf(e);
    if (/^(08|57P0)/.test(code) || /^(ECONN|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|CONNECTION_|CONNECT_TIMEOUT)/.test(code)) return true;
  }
  return false;
}

/**
 * Errors that say nothing about the statement itself: the database unavailable, or a deadlock or
 * serialization failure. Work that hit one may be tried again (a device report batch, a bench fixture).
 */
export function isTransient(error: unknown): boolean {
  return isDatabaseUnavailable(error) || isConflictAbort(error);
}
