/**
 * What belongs to one database handle besides its connections: the queries prepared on it, the
 * selection shapes given a prepared statement, and its custom-plan twin. openDatabase creates it
 * with the handle, so it lives and goes with the handle; two handles (two servers in one test
 * process) never share a statement or a bound. A transaction has none: what it runs is built on it.
 */
import type { Database, Executor } from './types.js';

export interface HandleState {
  /** Queries built once on this handle, by name (db/prepared.ts). */
  readonly prepared: Map<string, unknown>;
  /** Per query, the selection shapes that have a prepared statement here (db/prepared.ts). */
  readonly shapes: Map<string, Set<string>>;
  /** Where value-dependent statements run (db/custom-plans.ts); null: on this handle itself. */
  readonly customPlans: Database | null;
}

const STATE = Symbol('updraft.databaseHandleState');

/** Called by openDatabase on each drizzle instance it creates. */
export function attachHandleState(db: Database, customPlans: Database | null): void {
  const state: HandleState = { prepared: new Map(), shapes: new Map(), customPlans };
  Object.defineProperty(db, STATE, { value: state, enumerable: false });
}

/** The handle's state; undefined for a transaction (or a drizzle instance not opened by openDatabase). */
export function handleStateOf(executor: Executor): HandleState | undefined {
  return (executor as unknown as { [STATE]?: HandleState })[STATE];
}
