/**
 * Searching a job's devices (DESIGN §3 "Searching a job's devices"): every tab by device key
 * (exact, prefix or substring); the Upgrade Failed tab also by current version, failure reason and
 * failure time. Pages are keyset-paginated in device-key order, which the index
 * (job_id, status, device_key) serves directly, so page N costs what page 1 costs.
 *
 * Time range: failedAfter is inclusive, failedBefore exclusive, so adjacent ranges never overlap.
 */
import { and, asc, count, desc, eq, gt, gte, lt, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { type FailureReason, jobTaskCounts, jobTasks, type TaskStatus } from '../../db/schema.js';
import { InvalidInputError } from '../errors.js';
import { type KeyMatch, keyMatches } from '../sql.js';

export type Task = typeof jobTasks.$inferSelect;

export interface TaskFilter {
  status?: TaskStatus | null;
  deviceKey?: string | null;
  deviceKeyMatch?: KeyMatch | null;
  currentVersion?: string | null;
  failureReason?: FailureReason | null;
  failedAfter?: Date | null;
  failedBefore?: Date | null;
}

/** Normalises a filter: failure filters search the Upgrade Failed tab, and only that tab. */
export function normaliseTaskFilter(filter: TaskFilter): TaskFilter {
  const failureFilters = ['failureReason', 'failedAfter', 'failedBefore'] as const;
  const used = failureFilters.filter((f) => filter[f] !== undefined && filter[f] !== null);
  if (used.length === 0) return filter;
  if (filter.status && filter.status !== 'FAILED') {
    throw new InvalidInputError(
      used.map((f) => ({ path: [f], message: 'searches the Upgrade Failed tab: use it with status FAILED (or no status)' })),
    );
  }
  if (filter.failedAfter && filter.failedBefore && filter.failedBefore <= filter.failedAfter) {
    throw InvalidInputError.single(['failedBefore'], 'must be later than failedAfter');
  }
  return { ...filter, status: 'FAILED' };
}

export function taskCondition(jobId: string, filter: TaskFilter) {
  const f = normaliseTaskFilter(filter);
  return (table: typeof jobTasks): SQL =>
    and(
      eq(table.jobId, jobId),
      f.status ? eq(table.status, f.status) : undefined,
      f.deviceKey ? keyMatches(table.deviceKey, f.deviceKey, f.deviceKeyMatch ?? 'CONTAINS') : undefined,
      f.currentVersion ? eq(table.currentVersion, f.currentVersion) : undefined,
      f.failureReason ? eq(table.failureReason, f.failureReason) : undefined,
      f.failedAfter ? gte(table.failedAt, f.failedAfter) : undefined,
      f.failedBefore ? lt(table.failedAt, f.failedBefore) : undefined,
    )!;
}

export interface KeysetPage {
  after?: string | null;
  before?: string | null;
  limit: number;
  /** Read backwards (for `last`): the caller reverses the rows again. */
  inverted: boolean;
}

/** One page of a job's tasks. The job must already be known to belong to the caller. */
export async function searchTasks(db: Executor, jobId: string, filter: TaskFilter, page: KeysetPage): Promise<Task[]> {
  return searchTasksQuery(db, jobId, filter, page);
}

/** The query searchTasks runs, unexecuted (the EXPLAIN test inspects its plan). */
export function searchTasksQuery(db: Executor, jobId: string, filter: TaskFilter, page: KeysetPage) {
  const condition = taskCondition(jobId, filter)(jobTasks);
  return db
    .select()
    .from(jobTasks)
    .where(
      and(
        condition,
        page.after ? gt(jobTasks.deviceKey, page.after) : undefined,
        page.before ? lt(jobTasks.deviceKey, page.before) : undefined,
      ),
    )
    .orderBy(page.inverted ? desc(jobTasks.deviceKey) : asc(jobTasks.deviceKey))
    .limit(page.limit);
}

export async function countTasks(db: Executor, jobId: string, filter: TaskFilter): Promise<number> {
  const [row] = await countTasksQuery(db, jobId, filter);
  return Number(row.n);
}

/**
 * A whole tab (or reason) has its count kept by the database (job_task_counts); only a search
 * within it has to count rows, and those counts are bounded by the index range of the search.
 */
export function isWholeTab(filter: TaskFilter): boolean {
  return !filter.deviceKey && !filter.currentVersion && !filter.failedAfter && !filter.failedBefore;
}

/** The query countTasks runs, unexecuted. */
export function countTasksQuery(db: Executor, jobId: string, filter: TaskFilter) {
  const f = normaliseTaskFilter(filter);
  if (isWholeTab(f)) {
    return db
      .select({ n: sql<number>`coalesce(sum(${jobTaskCounts.n}), 0)` })
      .from(jobTaskCounts)
      .where(
        and(
          eq(jobTaskCounts.jobId, jobId),
          f.status ? eq(jobTaskCounts.status, f.status) : undefined,
          f.failureReason ? eq(jobTaskCounts.reason, f.failureReason) : undefined,
        ),
      );
  }
  return db.select({ n: count() }).from(jobTasks).where(taskCondition(jobId, f)(jobTasks));
}
