/**
 * Hot queries built once per database handle and run with placeholders. Building a drizzle query
 * (and its relational variant) costs more than the database takes to answer a small indexed read:
 * measured on the job query (docs/benchmarks.md), a prepared select ran in half the time of the
 * same select built per call, and the credential lookup every request makes in a quarter.
 *
 * Kept on the handle (db/handle-state.ts): a prepared query is bound to the handle it was built on.
 * On a transaction it is built for the call.
 */
import type { Executor } from './client.js';
import { handleStateOf } from './handle-state.js';

export function preparedFor<T>(executor: Executor, name: string, build: () => T): T {
  const queries = handleStateOf(executor)?.prepared;
  if (!queries) return build();
  let query = queries.get(name) as T | undefined;
  if (query === undefined) {
    query = build();
    queries.set(name, query);
  }
  return query;
}

/** At most this many selection shapes of one query get a prepared statement; others run unprepared. */
export const MAX_SHAPES_PER_QUERY = 32;

/**
 * A key for a relational query's selection (columns, with, extras as the drizzle plugin computes
 * them from the GraphQL selection), when it is plain data only and its query may take one of the
 * MAX_SHAPES_PER_QUERY prepared statements of this handle; null otherwise (a selection with
 * functions or SQL in it cannot be told apart by its JSON, and a client sending ever new
 * selections must not grow the server's, or the database's, prepared statements without bound).
 */
export function selectionShapeKey(executor: Executor, query: string, selection: unknown): string | null {
  const state = handleStateOf(executor);
  if (!state || !isPlainData(selection)) return null;
  const key = JSON.stringify(selection);
  let shapes = state.shapes.get(query);
  if (!shapes) state.shapes.set(query, (shapes = new Set()));
  if (!shapes.has(key)) {
    if (shapes.size >= MAX_SHAPES_PER_QUERY) return null;
    shapes.add(key);
  }
  return `${query}:${key}`;
}

function isPlainData(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  const type = typeof value;
  if (type === 'boolean' || type === 'number' || type === 'string') return true;
  if (type !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return false;
  return Object.values(value as Record<string, unknown>).every(isPlainData);
}
