/**
 * Running raw statements, whichever driver the handle has.
 *
 * `preparedRows` runs the hot write paths (device report batches, task changes) as prepared
 * statements when the database is PostgreSQL through postgres.js. drizzle's `execute` sends every
 * statement unnamed, and postgres.js sends an unnamed statement with parameters as a describe
 * first, waits for its answer, then the execute: an extra round trip per statement, and statements
 * "sent together" were not pipelined after all. A prepared statement is described once per
 * connection and query text (the text is always the same, the values bound), then runs in one
 * message and pipelines. PGlite runs them through `execute`.
 */
import type { SQL } from 'drizzle-orm';
import type { Executor } from './client.js';

/** Rows of a raw statement, whichever driver ran it (postgres.js returns an array, PGlite `{ rows }`). */
export async function queryRows<T>(db: { execute: (query: SQL) => PromiseLike<unknown> }, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as T[] | { rows: T[] };
  return Array.isArray(result) ? result : result.rows;
}

interface PostgresJsLike {
  unsafe(text: string, params: unknown[], options: { prepare: boolean }): PromiseLike<unknown[]>;
}

interface WithSession {
  dialect?: { sqlToQuery(query: SQL): { sql: string; params: unknown[] } };
  session?: { client?: Partial<PostgresJsLike> };
}

export async function preparedRows<T>(executor: Executor, query: SQL): Promise<T[]> {
  const { dialect, session } = executor as unknown as WithSession;
  const client = session?.client;
  if (!dialect || typeof client?.unsafe !== 'function') return queryRows<T>(executor, query);
  const { sql, params } = dialect.sqlToQuery(query);
  return (await (client as PostgresJsLike).unsafe(sql, params, { prepare: true })) as T[];
}
