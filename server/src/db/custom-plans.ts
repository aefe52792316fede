/**
 * Where statements whose best plan depends on their values run.
 *
 * postgres.js prepares every statement, and PostgreSQL plans a prepared statement for its values
 * only five times: after that it may switch to one generic plan, chosen from estimates made without
 * the values. For a tab page or a count row that is right (one plan fits every job). For a search
 * it is not: with a reason, a version and a failure time range bound as placeholders, the generic
 * plan guesses that the time range keeps 0.5% of a job's failed tasks and walks the failure-time
 * index, filtering every failed task in the range; the plan for the actual values walks the
 * reason's index instead. On a 100,000-task job (bench scenario 1) that was 5.1 ms against 1.2 ms
 * for the count, and 3.5 ms against 0.03 ms for the page (EXPLAIN ANALYZE, docs/benchmarks.md).
 *
 * So the PostgreSQL handle has a second, small pool (its twin, kept in its state: db/handle-state.ts) whose sessions set `plan_cache_mode =
 * force_custom_plan`: statements sent there are still parsed once, and planned for their values
 * every time (a tenth of a millisecond). Searches use it; everything else keeps its generic plans.
 * PGlite runs every statement unnamed, planned for its values, so it needs no second handle; nor
 * does a transaction, which must stay on its own connection.
 */
import type { Executor } from './client.js';
import { handleStateOf } from './handle-state.js';

/** The executor to run a value-dependent statement on: `executor`'s custom-plan twin, if it has one. */
export function forValueDependentPlans(executor: Executor): Executor {
  return handleStateOf(executor)?.customPlans ?? executor;
}
