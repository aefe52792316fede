import { describe, expect, it } from 'vitest';
import { isConflictAbort, isDatabaseUnavailable, isTransient, isUniqueViolation } from './errors.js';

/** As drizzle raises them: its own error with the driver's in `cause` (postgres.js and PGlite name the constraint differently). */
const wrapped = (driver: Record<string, unknown>) => Object.assign(new Error('Failed query'), { cause: Object.assign(new Error('driver'), driver) });

describe('what a database error means, through its cause chain', () => {
  it('unique violation, of any or of the named constraint', () => {
    expect(isUniqueViolation(wrapped({ code: '23505', constraint_name: 'products_key' }))).toBe(true);
    expect(isUniqueViolation(wrapped({ code: '23505', constraint: 'products_key' }), 'products_key')).toBe(true);
    expect(isUniqueViolation(wrapped({ code: '23505', constraint_name: 'products_key' }), 'other')).toBe(false);
    expect(isUniqueViolation(wrapped({ code: '23503' }))).toBe(false);
  });

  it('conflict aborts (deadlock, serialization) and transient failures', () => {
    expect(isConflictAbort(wrapped({ code: '40P01' }))).toBe(true);
    expect(isConflictAbort(wrapped({ code: '40001' }))).toBe(true);
    expect(isConflictAbort(wrapped({ code: '08006' }))).toBe(false);
    for (const code of ['08006', '57P01', '40P01', 'ECONNREFUSED', 'CONNECTION_CLOSED']) expect(isTransient(wrapped({ code }))).toBe(true);
    expect(isTransient(wrapped({ code: '23505' }))).toBe(false);
  });

  it('the database unavailable: connection lost, refused or timed out, server shutting down; not a conflict', () => {
    for (const code of ['08006', '08001', '57P01', '57P03', 'ECONNREFUSED', 'ECONNRESET', 'CONNECTION_CLOSED', 'CONNECT_TIMEOUT']) {
      expect(isDatabaseUnavailable(wrapped({ code }))).toBe(true);
    }
    for (const code of ['40P01', '40001', '23505', '42P01']) expect(isDatabaseUnavailable(wrapped({ code }))).toBe(false);
  });

  it('is false for anything without a code', () => {
    for (const error of [null, undefined, 'text', 42, new Error('plain'), { cause: 'text' }]) {
      expect(isUniqueViolation(error) || isConflictAbort(error) || isTransient(error) || isDatabaseUnavailable(error)).toBe(false);
    }
  });
});
