/**
 * Per-request batching of the aggregate reads that a page of jobs asks for: one query answers the
 * status counts of every job on the page instead of one query per job.
 */
import DataLoader from 'dataloader';
import { and, inArray, ne } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { type FailureReason, type JobStatus, jobTaskCounts, otaJobs } from '../db/schema.js';
import { COUNT_FIELD, EMPTY_COUNTS, type StatusCounts } from './tasks/rules.js';

export interface Loaders {
  statusCounts: DataLoader<string, StatusCounts>;
  /** A job's status, for the tasks that show why they wait. */
  jobStatus: DataLoader<string, JobStatus | null>;
  failureReasonCounts: DataLoader<string, Map<FailureReason, number>>;
}

/**
 * The query loadStatusCounts runs, unexecuted (the EXPLAIN test inspects its plan). It reads the
 * counters the database keeps per job, status and reason (job_task_counts), so its cost does not
 * grow with the size of the job.
 */
export function statusCountsQuery(db: Executor, jobIds: readonly string[]) {
  return db
    .select({ jobId: jobTaskCounts.jobId, status: jobTaskCounts.status, reason: jobTaskCounts.reason, n: jobTaskCounts.n })
    .from(jobTaskCounts)
    .where(and(inArray(jobTaskCounts.jobId, [...jobIds]), ne(jobTaskCounts.n, 0)));
}

export async function loadStatusCounts(db: Executor, jobIds: readonly string[]): Promise<Map<string, StatusCounts>> {
  const rows = await statusCountsQuery(db, jobIds);
  const result = new Map<string, StatusCounts>(jobIds.map((id) => [id, { ...EMPTY_COUNTS }]));
  for (const row of rows) result.get(row.jobId)![COUNT_FIELD[row.status]] += row.n;
  return result;
}

export async function loadFailureReasonCounts(
  db: Executor,
  jobIds: readonly string[],
): Promise<Map<string, Map<FailureReason, number>>> {
  const rows = await statusCountsQuery(db, jobIds);
  const result = new Map(jobIds.map((id) => [id, new Map<FailureReason, number>()]));
  for (const row of rows) {
    if (row.status === 'FAILED' && row.reason) result.get(row.jobId)!.set(row.reason as FailureReason, row.n);
  }
  return result;
}

export function createLoaders(db: Executor): Loaders {
  return {
    statusCounts: new DataLoader(async (ids) => {
      const counts = await loadStatusCounts(db, ids);
      return ids.map((id) => counts.get(id)!);
    }),
    jobStatus: new DataLoader(async (ids) => {
      const rows = await db.select({ id: otaJobs.id, status: otaJobs.status }).from(otaJobs).where(inArray(otaJobs.id, [...ids]));
      const byId = new Map(rows.map((r) => [r.id, r.status]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    failureReasonCounts: new DataLoader(async (ids) => {
      const counts = await loadFailureReasonCounts(db, ids);
      return ids.map((id) => counts.get(id)!);
    }),
  };
}
