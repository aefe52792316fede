/**
 * Hot queries built once per database handle and run with placeholders. Building a drizzle query
 * (and its relational variant) costs more than the database takes to answer a small indexed read:
 * measured on the job query (docs/benchmarks.md), a prepared select ran in half the time of the
 * same select built per call, and the credential lookup every request makes in a quarter.
 *
 * Keyed per executor: a prepared query is bound to the handle (or transaction) it was built on.
 */
const byExecutor = new WeakMap<object, Map<string, unknown>>();

export function preparedFor<T>(executor: object, name: string, build: () => T): T {
  let queries = byExecutor.get(executor);
  if (!queries) byExecutor.set(executor, (queries = new Map()));
  let query = queries.get(name) as T | undefined;
  if (query === undefined) {
    query = build();
    queries.set(name, query);
  }
  return query;
}
