/** Reading jobs: the filtered job list and single jobs, always inside the caller's unit. */
import { and, eq, ilike, sql, type SQL } from 'drizzle-orm';
import type { Database, Executor } from '../../db/client.js';
import { preparedFor, selectionShapeKey } from '../../db/prepared.js';
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

/** What a relational read of a job may select: columns, relations, extras (not its condition). */
export type JobSelection = Omit<NonNullable<Parameters<Database['query']['otaJobs']['findFirst']>[0]>, 'where'>;

/**
 * The caller's job with this id, read with a relational selection (what a GraphQL query asks of
 * it), or null. The details page asks for the same selection on every load: a prepared statement
 * per selection shape saves building the query and the database parsing and planning it.
 */
export async function findJobSelecting(db: Database, caller: Caller, jobId: string, selection: JobSelection) {
  requirePermission(caller, 'OTA_READ');
  const shape = selectionShapeKey(db, 'job_by_id', selection);
  const found = shape
    ? preparedFor(db, shape, () =>
        db.query.otaJobs.findFirst({ ...selection, where: { id: sql.placeholder('id'), ouId: sql.placeholder('ouId') } }).prepare('job_by_id'),
      ).execute({ id: jobId, ouId: caller.ouId })
    : db.query.otaJobs.findFirst({ ...selection, where: { id: jobId, ouId: caller.ouId } });
  return (await found) ?? null;
}
