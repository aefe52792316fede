/**
 * Statement caches belong to the database handle they were built on (db/handle-state.ts): two
 * handles in one process (two servers, a test and a bench) share no prepared query and no bound on
 * selection shapes, and a transaction, which has no state, gets its query built for the call.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forValueDependentPlans } from '@updraft/server/db/custom-plans.js';
import { MAX_SHAPES_PER_QUERY, preparedFor, selectionShapeKey } from '@updraft/server/db/prepared.js';
import { createTestDatabase, type TestDatabase, usingPostgres } from '../support/database.js';

let first: TestDatabase;
let second: TestDatabase;

beforeAll(async () => {
  [first, second] = await Promise.all([createTestDatabase(), createTestDatabase()]);
});
afterAll(async () => {
  await Promise.all([first?.drop(), second?.drop()]);
});

describe('statement caches on the database handle', () => {
  it('builds a named query once per handle, never shared between handles', async () => {
    const a = first.handle.db;
    const b = second.handle.db;
    let built = 0;
    const build = (db: typeof a) => () => {
      built++;
      return db.select({ one: sql<number>`1` }).from(sql`(select 1) as x`);
    };
    const onA = preparedFor(a, 'handle_state_probe', build(a));
    expect(preparedFor(a, 'handle_state_probe', build(a))).toBe(onA);
    const onB = preparedFor(b, 'handle_state_probe', build(b));
    expect(onB).not.toBe(onA);
    expect(built).toBe(2);
    expect(await onB).toEqual([{ one: 1 }]);
  });

  it('bounds selection shapes per handle, and gives a transaction none', async () => {
    const a = first.handle.db;
    const b = second.handle.db;
    for (let i = 0; i < MAX_SHAPES_PER_QUERY; i++) expect(selectionShapeKey(a, 'bound_probe', { columns: { [`c${i}`]: true } })).not.toBeNull();
    expect(selectionShapeKey(a, 'bound_probe', { columns: { over: true } })).toBeNull();
    // A shape already given a statement keeps it; the other handle's bound is its own.
    expect(selectionShapeKey(a, 'bound_probe', { columns: { c0: true } })).toBe('bound_probe:{"columns":{"c0":true}}');
    expect(selectionShapeKey(b, 'bound_probe', { columns: { over: true } })).not.toBeNull();
    await a.transaction(async (tx) => {
      expect(selectionShapeKey(tx, 'bound_probe', { columns: { c1: true } })).toBeNull();
      let built = 0;
      const build = () => ++built;
      preparedFor(tx, 'tx_probe', build);
      preparedFor(tx, 'tx_probe', build);
      expect(built).toBe(2);
      expect(forValueDependentPlans(tx)).toBe(tx);
    });
  });

  it.runIf(usingPostgres)('gives each PostgreSQL handle its own custom-plan twin', () => {
    const twinA = forValueDependentPlans(first.handle.db);
    const twinB = forValueDependentPlans(second.handle.db);
    expect(twinA).not.toBe(first.handle.db);
    expect(twinB).not.toBe(twinA);
    expect(forValueDependentPlans(twinA)).toBe(twinA);
  });
});
