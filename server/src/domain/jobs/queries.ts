/** Reading jobs: the filtered job list and single jobs, always inside the caller's unit. */
import { and, eq, ilike, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { type JobStatus, type JobType, otaJobs } from '../../db/schema.js';
import { type Caller, requirePermission } from '../caller.js';
import { escapeLike } from '../sql.js';
import type { JobRow } from './settings-view.js';

export interface JobFilter {
  /** Undefined: any product; null: a product key that does not exist here (matches nothing). */
  productId?: string | null;
  type?: JobType | null;
  status?: JobStatus | null;
  /** Substring of the job name, case-insensitive. */
  search?: string | null;
}

export function jobCondition(caller: Caller, filter: JobFilter) {
  return (table: typeof otaJobs): SQL =>
    and(
      eq(table.ouId, caller.ouId),
      filter.productId === null ? sql`false` : undefined,
      filter.productId ? eq(table.productId, filter.productId) : undefined,
      filter.type ? eq(table.type, filter.type) : undefined,
      filter.status ? eq(table.status, filter.status) : undefined,
      filter.search ? ilike(table.name, `%${escapeLike(filter.search)}%`) : undefined,
    )!;
}

export async function countJobs(db: Executor, caller: Caller, filter: JobFilter): Promise<number> {
  requirePermission(caller, 'OTA_READ');
  return db.$count(otaJobs, jobCondition(caller, filter)(otaJobs));
}

/** The caller's job with this id, or null (unknown and foreign ids alike). */
export async function findJob(db: Executor, caller: Caller, jobId: string): Promise<JobRow | null> {
  requirePermission(caller, 'OTA_READ');
  const [job] = await db
    .select()
    .from(otaJobs)
    .where(and(eq(otaJobs.id, jobId), eq(otaJobs.ouId, caller.ouId)));
  return job ?? null;
}
