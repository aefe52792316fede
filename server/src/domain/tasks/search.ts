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
import { FAILURE_REASONS, type FailureReason, jobTaskCounts, jobTasks, TASK_STATUSES, type TaskStatus } from '../../db/schema.js';
import { forValueDependentPlans } from '../../db/custom-plans.js';
import { preparedFor, selectionShapeKey } from '../../db/prepared.js';
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
  /** Only the devices of this wave of the job's rollout plan. */
  wave?: number | null;
}

/** Normalises a filter: failure filters search the Upgrade Failed tab, and only that tab. */
export function normaliseTaskFilter(filter: TaskFilter): TaskFilter {
  const failureFilters = ['failureReason', 'failedAfter', 'failedBefore'] as const;
  const used = failureFilters.filter((f) => filter[f] !== undefined && filter[f] !== null);
  if (used.length === 0) return filter;
  if (filter.status && filter.status !== 'FAILED') {
    throw new InvalidInputError(used.map((f) => ({ path: [f], message: 'searches the Upgrade Failed tab: use it with status FAILED (or no status)' })));
  }
  if (filter.failedAfter && filter.failedBefore && filter.failedBefore <= filter.failedAfter) {
    throw InvalidInputError.single(['failedBefore'], 'must be later than failedAfter');
  }
  return { ...filter, status: 'FAILED' };
}

export interface KeysetPage {
  after?: string | null;
  before?: string | null;
  limit: number;
  /** Read backwards (for `last`): the caller reverses the rows again. */
  inverted: boolean;
}

/**
 * How a value enters a search statement: as itself (a one-off query), or as a named placeholder
 * (a prepared statement run with the values later).
 */
type Bind = <T>(name: string, value: T) => T;
const asValue: Bind = (_name, value) => value;
/** Typed as the value it stands for: drizzle accepts a placeholder wherever a value goes. */
const asPlaceholder: Bind = <T>(name: string) => sql.placeholder(name) as unknown as T;

/**
 * Enum values (tab, failure reason) are written into the statement, not bound: a prepared
 * statement's generic plan can then still use the partial indexes of the Upgrade Failed tab
 * (`where status = 'FAILED'`), which a `status = $1` could never be proven to match.
 */
function enumLiteral<T extends string>(value: T, allowed: readonly T[]): SQL {
  if (!allowed.includes(value)) throw new InvalidInputError([{ path: [], message: `unknown value ${JSON.stringify(value)}` }]);
  return sql.raw(`'${value}'`);
}

function searchCondition(f: TaskFilter, bind: Bind, jobId: string): SQL {
  return and(
    eq(jobTasks.jobId, bind('jobId', jobId)),
    f.status ? sql`${jobTasks.status} = ${enumLiteral(f.status, TASK_STATUSES)}` : undefined,
    f.deviceKey ? keyMatches(jobTasks.deviceKey, f.deviceKey, f.deviceKeyMatch ?? 'CONTAINS') : undefined,
    f.currentVersion ? eq(jobTasks.currentVersion, bind('currentVersion', f.currentVersion)) : undefined,
    f.failureReason ? sql`${jobTasks.failureReason} = ${enumLiteral(f.failureReason, FAILURE_REASONS)}` : undefined,
    f.failedAfter ? gte(jobTasks.failedAt, bind('failedAfter', f.failedAfter)) : undefined,
    f.failedBefore ? lt(jobTasks.failedAt, bind('failedBefore', f.failedBefore)) : undefined,
    hasWave(f) ? eq(jobTasks.waveIndex, bind('wave', f.wave!)) : undefined,
  )!;
}

export type TaskColumn = keyof Task;

/** Columns every page row carries whatever is asked: its identity, key (the cursor) and tab. */
const PAGE_KEY_COLUMNS: readonly TaskColumn[] = ['id', 'jobId', 'deviceKey', 'status'];

function selectedColumns(columns: readonly TaskColumn[]) {
  return Object.fromEntries([...new Set([...PAGE_KEY_COLUMNS, ...columns])].sort().map((c) => [c, jobTasks[c]])) as unknown as typeof jobTasks._.columns;
}

function pageQuery(db: Executor, jobId: string, f: TaskFilter, page: KeysetPage, bind: Bind, columns?: readonly TaskColumn[]) {
  return (columns ? db.select(selectedColumns(columns)) : db.select())
    .from(jobTasks)
    .where(
      and(
        searchCondition(f, bind, jobId),
        page.after ? gt(jobTasks.deviceKey, bind('after', page.after)) : undefined,
        page.before ? lt(jobTasks.deviceKey, bind('before', page.before)) : undefined,
      ),
    )
    .orderBy(page.inverted ? desc(jobTasks.deviceKey) : asc(jobTasks.deviceKey))
    .limit(bind('limit', page.limit));
}

/**
 * The statement's shape: which filters it has (and the enum values written into it). Searches by
 * device key are not prepared: a generic plan cannot turn `like $1` into an index range.
 */
function shapeOf(f: TaskFilter, page?: KeysetPage): string | null {
  if (f.deviceKey) return null;
  return [
    f.status ?? '',
    f.currentVersion ? 'v' : '',
    f.failureReason ?? '',
    f.failedAfter ? 'a' : '',
    f.failedBefore ? 'b' : '',
    hasWave(f) ? 'w' : '',
    page?.after ? 'A' : '',
    page?.before ? 'B' : '',
    page?.inverted ? 'I' : '',
  ].join('_');
}

/** The placeholders' values. Times go as ISO text: a placeholder bypasses the column's own encoding. */
function boundValues(jobId: string, f: TaskFilter, page?: KeysetPage): Record<string, unknown> {
  return {
    jobId,
    currentVersion: f.currentVersion,
    failedAfter: f.failedAfter?.toISOString(),
    failedBefore: f.failedBefore?.toISOString(),
    wave: f.wave,
    after: page?.after,
    before: page?.before,
    limit: page?.limit,
  };
}

/**
 * One page of a job's tasks. The job must already be known to belong to the caller.
 *
 * `columns`, when given, are the only columns the caller will read (besides id, jobId, deviceKey
 * and status, always there): a page row is 24 columns, of which a dashboard row shows 11, and
 * reading and decoding the others was most of the cost of a page. The rows are then typed as whole
 * Tasks but carry only those columns. Without `columns`, rows are whole.
 */
export async function searchTasks(executor: Executor, jobId: string, filter: TaskFilter, page: KeysetPage, columns?: readonly TaskColumn[]): Promise<Task[]> {
  const f = normaliseTaskFilter(filter);
  const db = plannedFor(executor, f);
  const shape = shapeOf(f, page);
  if (shape === null) return pageQuery(db, jobId, f, page, asValue, columns) as Promise<Task[]>;
  const columnsKey = columns ? selectionShapeKey(db, 'search_tasks_columns', [...new Set([...PAGE_KEY_COLUMNS, ...columns])].sort().join(',')) : '';
  // Past the bound of column sets, whole rows (one statement per filter shape, as without columns).
  const narrowed = columnsKey ? columns : undefined;
  const name = `search_tasks_${shape}${columnsKey ? `:${columnsKey}` : ''}`;
  const query = preparedFor(db, name, () => pageQuery(db, jobId, f, page, asPlaceholder, narrowed).prepare(name));
  return query.execute(boundValues(jobId, f, page)) as Promise<Task[]>;
}

/** The query searchTasks runs, unexecuted (the EXPLAIN test inspects its plan). */
export function searchTasksQuery(db: Executor, jobId: string, filter: TaskFilter, page: KeysetPage) {
  return pageQuery(db, jobId, normaliseTaskFilter(filter), page, asValue);
}

export async function countTasks(executor: Executor, jobId: string, filter: TaskFilter): Promise<number> {
  const f = normaliseTaskFilter(filter);
  const db = plannedFor(executor, f);
  const shape = isWholeTab(f) ? null : shapeOf(f);
  if (shape === null) {
    const [row] = await countTasksQuery(db, jobId, filter);
    return Number(row.n);
  }
  const name = `count_tasks_${shape}`;
  const query = preparedFor(db, name, () =>
    db
      .select({ n: count() })
      .from(jobTasks)
      .where(searchCondition(f, asPlaceholder, jobId))
      .prepare(name),
  );
  const [row] = await query.execute(boundValues(jobId, f));
  return Number(row.n);
}

/**
 * A whole tab (or reason) reads one index range whatever its values: its generic plan is right. A
 * search (version, failure time, device key) is planned for its values (db/custom-plans.ts).
 */
function plannedFor(executor: Executor, f: TaskFilter): Executor {
  return isWholeTab(f) ? executor : forValueDependentPlans(executor);
}

/**
 * A whole tab (or reason) has its count kept by the database (job_task_counts); only a search
 * within it has to count rows, and those counts are bounded by the index range of the search.
 */
export function isWholeTab(filter: TaskFilter): boolean {
  return !filter.deviceKey && !filter.currentVersion && !filter.failedAfter && !filter.failedBefore && !hasWave(filter);
}

const hasWave = (f: TaskFilter) => f.wave !== null && f.wave !== undefined;

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
  return db
    .select({ n: count() })
    .from(jobTasks)
    .where(searchCondition(f, asValue, jobId));
}
