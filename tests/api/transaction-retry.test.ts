/**
 * A mutation's transaction that PostgreSQL aborts to break a deadlock runs again instead of failing
 * (domain/transaction.ts, retryConflicts; schema/support.ts uses it for every mutation): the CI run
 * saw an operator's cancel deadlock with the engine on the job's change-order lock. Its events are
 * published once, for the attempt that committed. Without the option, the deadlock is the caller's.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTransaction, type TransactionScope } from '@updraft/server/domain/transaction.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { usingPostgres } from '../support/database.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ engineEnabled: false });
});
afterAll(() => t?.close());

const KEYS = [972_001, 972_002] as const;

/** Two transactions taking the same two locks in opposite orders: PostgreSQL aborts one of them. */
function crossing(first: number, second: number, attempts: number[], index: number) {
  return async ({ tx, emit }: TransactionScope) => {
    attempts[index]++;
    await tx.execute(sql`select pg_advisory_xact_lock(${first})`);
    await tx.execute(sql`select pg_sleep(0.2)`);
    await tx.execute(sql`select pg_advisory_xact_lock(${second})`);
    emit({ topic: 'jobs:changed', args: [`retry-test-${index}`] } as never);
    return index;
  };
}

describe.skipIf(!usingPostgres)('transactions aborted by a deadlock', () => {
  it('run again with retryConflicts, and publish their events once', async () => {
    const attempts = [0, 0];
    const published: unknown[] = [];
    const events = t.server.services.events;
    const deps = { db: t.server.services.db, events: { ...events, publish: ((...args: unknown[]) => void published.push(args)) as never } };
    const results = await Promise.all([
      inTransaction(deps, crossing(KEYS[0], KEYS[1], attempts, 0), { retryConflicts: true }),
      inTransaction(deps, crossing(KEYS[1], KEYS[0], attempts, 1), { retryConflicts: true }),
    ]);
    expect(results).toEqual([0, 1]);
    // One of the two was aborted once and ran again.
    expect(attempts[0] + attempts[1]).toBe(3);
    expect(published).toHaveLength(2);
  });

  it('fail as before without it', async () => {
    const attempts = [0, 0];
    const deps = t.server.services;
    const outcomes = await Promise.allSettled([
      inTransaction(deps, crossing(KEYS[0], KEYS[1], attempts, 0)),
      inTransaction(deps, crossing(KEYS[1], KEYS[0], attempts, 1)),
    ]);
    const rejected = outcomes.filter((o) => o.status === 'rejected') as PromiseRejectedResult[];
    expect(rejected).toHaveLength(1);
    expect((rejected[0].reason as { code?: string; cause?: { code?: string } }).cause?.code ?? (rejected[0].reason as { code?: string }).code).toBe('40P01');
    expect(attempts).toEqual([1, 1]);
  });
});
