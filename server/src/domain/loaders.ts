/**
 * Per-request batching of the aggregate reads that a page of jobs asks for: one query answers the
 * status counts of every job on the page instead of one query per job.
 */
import DataLoader from 'dataloader';
import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import { preparedFor } from '../db/prepared.js';
import type { Executor } from '../db/client.js';
import { devices, type FailureReason, type JobStatus, jobTaskCounts, otaJobs, type TaskStatus } from '../db/schema.js';
import { COUNT_FIELD, EMPTY_COUNTS, totalTasks, type StatusCounts } from './tasks/rules.js';

export interface Loaders {
  /** A job's counter rows (status, reason, n): one query for every count a request asks of a job. */
  countRows: DataLoader<string, CountRow[]>;
  statusCounts: DataLoader<string, StatusCounts>;
  /** A job's status, for the tasks that show why they wait. */
  jobStatus: JobStatusLoader;
  failureReasonCounts: DataLoader<string, Map<FailureReason, number>>;
  /** Rows by id, for fields that lead from a task to its device and its job. */
  devices: DataLoader<string, typeof devices.$inferSelect | null>;
  jobs: DataLoader<string, typeof otaJobs.$inferSelect | null>;
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

export interface CountRow {
  status: TaskStatus;
  /** '' when none. */
  reason: string;
  n: number;
}

export async function loadCountRows(db: Executor, jobIds: readonly string[]): Promise<Map<string, CountRow[]>> {
  // One job (a details page, a live snapshot) is the common case: a prepared statement.
  const rows =
    jobIds.length === 1
      ? await preparedFor(db, 'job_count_rows', () =>
          db
            .select({ jobId: jobTaskCounts.jobId, status: jobTaskCounts.status, reason: jobTaskCounts.reason, n: jobTaskCounts.n })
            .from(jobTaskCounts)
            .where(and(eq(jobTaskCounts.jobId, sql.placeholder('jobId')), ne(jobTaskCounts.n, 0)))
            .prepare('job_count_rows'),
        ).execute({ jobId: jobIds[0] })
      : await statusCountsQuery(db, jobIds);
  const result = new Map<string, CountRow[]>(jobIds.map((id) => [id, []]));
  for (const row of rows) result.get(row.jobId)!.push({ status: row.status, reason: row.reason, n: row.n });
  return result;
}

export function statusCountsOf(rows: readonly CountRow[]): StatusCounts {
  const counts = { ...EMPTY_COUNTS };
  for (const row of rows) counts[COUNT_FIELD[row.status]] += row.n;
  return counts;
}

export function failureReasonCountsOf(rows: readonly CountRow[]): Map<FailureReason, number> {
  const byReason = new Map<FailureReason, number>();
  for (const row of rows) if (row.status === 'FAILED' && row.reason) byReason.set(row.reason as FailureReason, row.n);
  return byReason;
}

export async function loadStatusCounts(db: Executor, jobIds: readonly string[]): Promise<Map<string, StatusCounts>> {
  const rows = await loadCountRows(db, jobIds);
  return new Map(jobIds.map((id) => [id, statusCountsOf(rows.get(id)!)]));
}

export async function loadFailureReasonCounts(db: Executor, jobIds: readonly string[]): Promise<Map<string, Map<FailureReason, number>>> {
  const rows = await loadCountRows(db, jobIds);
  return new Map(jobIds.map((id) => [id, failureReasonCountsOf(rows.get(id)!)]));
}

/**
 * A whole tab's (or a failure reason's) number of devices from the job's counters: the devices
 * connections of one job then share the one counter query with statusCounts, instead of one
 * query per tab.
 */
export async function wholeTabCount(
  loaders: Loaders,
  jobId: string,
  filter: { status?: TaskStatus | null; failureReason?: FailureReason | null },
): Promise<number> {
  if (filter.failureReason) return (await loaders.failureReasonCounts.load(jobId)).get(filter.failureReason) ?? 0;
  const counts = await loaders.statusCounts.load(jobId);
  return filter.status ? counts[COUNT_FIELD[filter.status]] : totalTasks(counts);
}

export function createLoaders(db: Executor): Loaders {
  const countRows = new DataLoader(async (ids: readonly string[]) => {
    const rows = await loadCountRows(db, ids);
    return ids.map((id) => rows.get(id)!);
  });
  return {
    countRows,
    statusCounts: new DataLoader(async (ids) => (await countRows.loadMany(ids)).map((rows) => (rows instanceof Error ? rows : statusCountsOf(rows)))),
    jobStatus: new JobStatusLoader(
      new DataLoader(async (ids) => {
        const rows = await db
          .select({ id: otaJobs.id, status: otaJobs.status })
          .from(otaJobs)
          .where(inArray(otaJobs.id, [...ids]));
        const byId = new Map(rows.map((r) => [r.id, r.status]));
        return ids.map((id) => byId.get(id) ?? null);
      }),
    ),
    failureReasonCounts: new DataLoader(async (ids) =>
      (await countRows.loadMany(ids)).map((rows) => (rows instanceof Error ? rows : failureReasonCountsOf(rows))),
    ),
    devices: new DataLoader(async (ids) =>
      byId(
        ids,
        await db
          .select()
          .from(devices)
          .where(inArray(devices.id, [...ids])),
      ),
    ),
    jobs: new DataLoader(async (ids) =>
      byId(
        ids,
        await db
          .select()
          .from(otaJobs)
          .where(inArray(otaJobs.id, [...ids])),
      ),
    ),
  };
}

/**
 * Job statuses by id. A status the request already holds (the job a page of its tasks was read
 * from) is also known synchronously: a To be Pushed row's waitingReason then needs no promise,
 * which would put the whole row on the executor's slower asynchronous path.
 */
export class JobStatusLoader {
  private readonly known = new Map<string, JobStatus>();
  constructor(private readonly loader: DataLoader<string, JobStatus | null>) {}

  /** The status if this request already holds it, else undefined. */
  knownNow(id: string): JobStatus | undefined {
    return this.known.get(id);
  }

  load(id: string): Promise<JobStatus | null> {
    return this.loader.load(id);
  }

  prime(id: string, status: JobStatus): this {
    this.known.set(id, status);
    this.loader.clear(id).prime(id, status);
    return this;
  }

  /** Forgets the status (a live subscription's context outlives changes of it). */
  clear(id: string): this {
    this.known.delete(id);
    this.loader.clear(id);
    return this;
  }
}

function byId<T extends { id: string }>(ids: readonly string[], rows: T[]): (T | null)[] {
  const found = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => found.get(id) ?? null);
}
