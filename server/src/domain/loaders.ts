/**
 * Per-request batching of the aggregate reads that a page of jobs asks for: one query answers the
 * status counts of every job on the page instead of one query per job.
 */
import DataLoader from 'dataloader';
import { and, count, eq, inArray } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { type FailureReason, type JobStatus, jobTasks, otaJobs } from '../db/schema.js';
import { COUNT_FIELD, EMPTY_COUNTS, type StatusCounts } from './tasks/rules.js';

export interface Loaders {
  statusCounts: DataLoader<string, StatusCounts>;
  /** A job's status, for the tasks that show why they wait. */
  jobStatus: DataLoader<string, JobStatus | null>;
  failureReasonCounts: DataLoader<string, Map<FailureReason, number>>;
}

export async function loadStatusCounts(db: Executor, jobIds: readonly string[]): Promise<Map<string, StatusCounts>> {
  const rows = await db
    .select({ jobId: jobTasks.jobId, status: jobTasks.status, n: count() })
    .from(jobTasks)
    .where(inArray(jobTasks.jobId, [...jobIds]))
    .groupBy(jobTasks.jobId, jobTasks.status);
  const result = new Map<string, StatusCounts>(jobIds.map((id) => [id, { ...EMPTY_COUNTS }]));
  for (const row of rows) result.get(row.jobId)![COUNT_FIELD[row.status]] = Number(row.n);
  return result;
}

export async function loadFailureReasonCounts(
  db: Executor,
  jobIds: readonly string[],
): Promise<Map<string, Map<FailureReason, number>>> {
  const rows = await db
    .select({ jobId: jobTasks.jobId, reason: jobTasks.failureReason, n: count() })
    .from(jobTasks)
    .where(and(inArray(jobTasks.jobId, [...jobIds]), eq(jobTasks.status, 'FAILED')))
    .groupBy(jobTasks.jobId, jobTasks.failureReason);
  const result = new Map(jobIds.map((id) => [id, new Map<FailureReason, number>()]));
  for (const row of rows) if (row.reason) result.get(row.jobId)!.set(row.reason, Number(row.n));
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
