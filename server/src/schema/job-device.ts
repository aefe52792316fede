import { encodeGlobalID, resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { inArray } from 'drizzle-orm';
import { type FieldNode, getArgumentValues, GraphQLError, type GraphQLObjectType, type GraphQLResolveInfo, Kind, type SelectionSetNode } from 'graphql';
import type { GraphQLContext } from '../context.js';
import { keepPrefetched, registerPrefetcher, takePrefetched } from './prefetch.js';
import type { Database } from '../db/client.js';
import { jobTasks } from '../db/schema.js';
import { builder } from '../builder.js';
import { InvalidInputError, InvalidJobStateError, NotFoundError } from '../domain/errors.js';
import { cancelUpgrade } from '../domain/jobs/cancel-upgrade.js';
import { retryUpgrade } from '../domain/jobs/retry.js';
import { effectiveWaitingReason, FAILURE_REASON_LABELS } from '../domain/tasks/rules.js';
import { findJob } from '../domain/jobs/queries.js';
import type { ChangeBatch } from '../live/job-changes-hub.js';
import { currentChangeSeq } from '../domain/tasks/changes.js';
import { countTasks, isWholeTab, normaliseTaskFilter, searchTasks, type Task, type TaskColumn, type TaskFilter } from '../domain/tasks/search.js';
import { wholeTabCount } from '../domain/loaders.js';
import { DeviceKeyMatch, FailureReason, NotCancelledReason, NotRetriedReason, UpgradeStatus, WaitingReason } from './enums.js';
import { Device } from './device.js';
import { OtaJob } from './job.js';
import { assertPageSize, MAX_PAGE_SIZE, callerOf, decodeId, decodeIdOrNotFound, notFound, selectsField, transact } from './support.js';

/**
 * A plain relay node over task rows, not a drizzle object: pages and live batches carry hundreds of
 * rows, and the drizzle plugin wraps every field of its objects to look up how the row was loaded
 * (and reloads rows it did not load itself: searches, live batches). Measured in docs/benchmarks.md:
 * that was most of the job query's time and one query per subscriber per live batch. Rows come
 * from searchTasks (only the columns the query's fields read: COLUMNS_OF_FIELD), whole from
 * changesSince and the loaders here; `device` and `job` go through per-request loaders.
 */
export const JobDevice = builder.node(builder.objectRef<Task>('JobDevice'), {
  description: "One device's upgrade in one job: a row of the job details page.",
  id: { resolve: (task) => task.id },
  authScopes: { permission: 'OTA_READ' },
  runScopesOnType: true,
  loadMany: (ids, context) => loadTasksById(context.services.db, ids),
  fields: (t) => ({
    deviceKey: t.exposeString('deviceKey'),
    device: t.field({
      type: Device,
      nullable: true,
      description: 'Null when the device does not exist (any more).',
      resolve: (task, _args, context) => (task.deviceId ? context.loaders.devices.load(task.deviceId) : null),
    }),
    job: t.field({ type: OtaJob, resolve: async (task, _args, context) => (await context.loaders.jobs.load(task.jobId))! }),
    status: t.expose('status', { type: UpgradeStatus }),
    progress: t.exposeInt('progress', { description: 'Last reported progress, 0-100.' }),
    failureReason: t.expose('failureReason', { type: FailureReason, nullable: true }),
    failureReasonText: t.string({
      nullable: true,
      description: 'The failure reason in words, as the console shows it.',
      resolve: (task) => (task.failureReason ? FAILURE_REASON_LABELS[task.failureReason] : null),
    }),
    failureDetail: t.exposeString('failureDetail', { nullable: true }),
    waitingReason: t.field({
      type: WaitingReason,
      nullable: true,
      description: 'Why a To be Pushed device waits.',
      // Only To be Pushed rows wait on the job's status, which the request usually holds already
      // (the job the page was read from); the others answer at once. Without a promise: a promise
      // per row puts the whole row on the executor's slower asynchronous path.
      resolve: (task, _args, context) => {
        if (task.status !== 'TO_BE_PUSHED') return null;
        const status = context.loaders.jobStatus.knownNow(task.jobId);
        if (status) return effectiveWaitingReason(status, task);
        return context.loaders.jobStatus.load(task.jobId).then((loaded) => effectiveWaitingReason(loaded ?? 'RUNNING', task));
      },
    }),
    srcVersion: t.exposeString('srcVersion', { nullable: true, description: 'The version the device had when the task was created.' }),
    currentVersion: t.exposeString('currentVersion', { nullable: true, description: 'The version the device last reported.' }),
    attempt: t.exposeInt('attempt'),
    pushedAt: t.expose('pushedAt', { type: 'DateTime', nullable: true }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    failedAt: t.expose('failedAt', { type: 'DateTime', nullable: true }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

/**
 * The task columns each JobDevice field reads. A page reads only the columns of the fields its
 * query selects (searchTasks' `columns`); a field missing here makes the page read whole rows, so a
 * new field is never answered from a column that was not read.
 */
const COLUMNS_OF_FIELD: Record<string, readonly TaskColumn[]> = {
  __typename: [],
  id: ['id'],
  deviceKey: ['deviceKey'],
  device: ['deviceId'],
  job: ['jobId'],
  status: ['status'],
  progress: ['progress'],
  failureReason: ['failureReason'],
  failureReasonText: ['failureReason'],
  failureDetail: ['failureDetail'],
  waitingReason: ['status', 'waitingReason', 'jobId'],
  srcVersion: ['srcVersion'],
  currentVersion: ['currentVersion'],
  attempt: ['attempt'],
  pushedAt: ['pushedAt'],
  startedAt: ['startedAt'],
  finishedAt: ['finishedAt'],
  failedAt: ['failedAt'],
  updatedAt: ['updatedAt'],
};

/**
 * The columns a devices connection's rows need for what the query selects of them (through nodes
 * and edges.node, fragments included); undefined (whole rows) when a selected field is not known.
 */
export function taskColumnsSelected(info: SelectionInfo): TaskColumn[] | undefined {
  const columns = new Set<TaskColumn>();
  let known = true;
  const fieldsOf = (set: SelectionSetNode | undefined, visit: (field: FieldNode) => void): void => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) visit(selection);
      else if (selection.kind === Kind.INLINE_FRAGMENT) fieldsOf(selection.selectionSet, visit);
      else {
        const fragment = info.fragments[selection.name.value];
        if (fragment) fieldsOf(fragment.selectionSet, visit);
        else known = false;
      }
    }
  };
  const row = (field: FieldNode) => {
    const needs = COLUMNS_OF_FIELD[field.name.value];
    if (needs) for (const column of needs) columns.add(column);
    else known = false;
  };
  for (const node of info.fieldNodes) {
    fieldsOf(node.selectionSet, (field) => {
      if (field.name.value === 'nodes') fieldsOf(field.selectionSet, row);
      else if (field.name.value === 'edges') fieldsOf(field.selectionSet, (edge) => edge.name.value === 'node' && fieldsOf(edge.selectionSet, row));
    });
  }
  return known ? [...columns] : undefined;
}

async function loadTasksById(db: Database, ids: readonly string[]): Promise<(Task | null)[]> {
  const wanted = ids.filter((id) => /^[1-9][0-9]{0,15}$/.test(id)).map(Number);
  const rows = wanted.length ? await db.select().from(jobTasks).where(inArray(jobTasks.id, wanted)) : [];
  const byId = new Map(rows.map((row) => [String(row.id), row]));
  return ids.map((id) => byId.get(id) ?? null);
}

const jobDevicesArgs = builder.args((t) => ({
  status: t.field({ type: UpgradeStatus, description: 'The tab.' }),
  deviceKey: t.string({ description: 'Search text for the device key.' }),
  deviceKeyMatch: t.field({ type: DeviceKeyMatch, description: 'How deviceKey matches; default CONTAINS.' }),
  currentVersion: t.string({ description: 'Exact current firmware version.' }),
  failureReason: t.field({ type: FailureReason, description: 'Upgrade Failed tab only.' }),
  failedAfter: t.field({ type: 'DateTime', description: 'Failed at or after (inclusive). Upgrade Failed tab only.' }),
  failedBefore: t.field({ type: 'DateTime', description: 'Failed before (exclusive). Upgrade Failed tab only.' }),
}));

type DevicesArgs = TaskFilter & { first?: number | null; last?: number | null; after?: string | null; before?: string | null };
type DevicesConnection = Awaited<ReturnType<typeof resolveCursorConnection<Promise<Task[]>>>> & { changeCursor: number | null; count: () => Promise<number> };
type SelectionInfo = Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>;

/** A job's devices connection: the page, and its count when selected (read beside the page). */
async function devicesConnection(context: GraphQLContext, jobId: string, args: DevicesArgs, info: SelectionInfo): Promise<DevicesConnection> {
  assertPageSize(args);
  const filter: TaskFilter = args;
  let normalised: TaskFilter;
  try {
    normalised = normaliseTaskFilter(filter);
  } catch (error) {
    throw asBadUserInput(error);
  }
  // Read before the rows, so that following jobDeviceUpdates from it misses nothing the page lacks.
  // Only when asked for: it is two more queries per connection.
  const changeCursor = selectsField(info, 'changeCursor') ? await currentChangeSeq(context.services.db, jobId) : null;
  const countNow = isWholeTab(normalised) ? () => wholeTabCount(context.loaders, jobId, normalised) : () => countTasks(context.services.db, jobId, normalised);
  // A count asked for is read beside the page rather than after it (one round trip less); a
  // failure still reaches totalCount, and none is left unhandled if the page fails first.
  const counting = selectsField(info, 'totalCount') ? countNow() : null;
  counting?.catch(() => {});
  const connection = await resolveCursorConnection(
    { args, toCursor: (task: Task) => task.deviceKey, defaultSize: 50, maxSize: MAX_PAGE_SIZE },
    (page: ResolveCursorConnectionArgs) => searchTasks(context.services.db, jobId, normalised, page, taskColumnsSelected(info)),
  );
  const count = counting ? () => counting : countNow;
  return Object.assign(connection, { changeCursor, count });
}

/**
 * While `job(id:)` looks its job up, the devices connections selected on it (directly or through
 * fragments, without directives) start their reads with the arguments they will be given
 * (schema/prefetch.ts: used only if the job is found in the caller's unit and the arguments match).
 */
registerPrefetcher('OtaJob', (context, jobId, info) => {
  const devicesField = (info.schema.getType('OtaJob') as GraphQLObjectType).getFields().devices;
  const visit = (set: SelectionSetNode | undefined): void => {
    for (const selection of set?.selections ?? []) {
      if (selection.directives?.length) continue;
      if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet);
      else if (selection.kind === Kind.FRAGMENT_SPREAD) visit(info.fragments[selection.name.value]?.selectionSet);
      else if (selection.name.value === 'devices') {
        let args: DevicesArgs;
        try {
          args = getArgumentValues(devicesField, selection, info.variableValues) as DevicesArgs;
        } catch {
          continue; // the resolver reports it
        }
        keepPrefetched(context, selection, jobId, args, devicesConnection(context, jobId, args, { fieldNodes: [selection], fragments: info.fragments }));
      }
    }
  };
  for (const node of info.fieldNodes) visit(node.selectionSet);
});

builder.drizzleObjectField(OtaJob, 'devices', (t) =>
  t.connection(
    {
      type: JobDevice,
      description: "The job's devices in device-key order, filtered by tab and searches.",
      args: jobDevicesArgs,
      select: { columns: { id: true, status: true } },
      resolve: (job, args, context, info) => {
        context.loaders.jobStatus.prime(job.id, job.status);
        return takePrefetched<DevicesConnection>(context, info, job.id, args) ?? devicesConnection(context, job.id, args, info);
      },
    },
    {
      name: 'JobDeviceConnection',
      fields: (c) => ({
        totalCount: c.int({
          description: 'Devices matching the filters, across all pages.',
          resolve: (connection) => (connection as unknown as { count: () => Promise<number> }).count(),
        }),
        changeCursor: c.string({
          description:
            "The job's change cursor as of just before this page was read: subscribe to jobDeviceUpdates with `after: changeCursor` to receive every change this page may not show yet.",
          resolve: (connection) => String((connection as unknown as { changeCursor: number }).changeCursor),
        }),
      }),
    },
    { name: 'JobDeviceEdge' },
  ),
);

function asBadUserInput(error: unknown): unknown {
  if (!(error instanceof InvalidInputError)) return error;
  return new GraphQLError(error.message, { extensions: { code: 'BAD_USER_INPUT', issues: error.issues } });
}

// ── Cancel and retry ────────────────────────────────────────────────────────────────────────────

const CancelUpgradeInput = builder.inputType('CancelUpgradeInput', {
  fields: (t) => ({
    jobId: t.id({ required: true }),
    deviceKeys: t.stringList({ required: true, description: 'Up to 10,000 devices.' }),
  }),
});

const NotCancelledDevice = builder
  .objectRef<{ deviceKey: string; reason: 'NOT_IN_JOB' | 'IN_PROGRESS' | 'ALREADY_FINISHED'; message: string }>('NotCancelledDevice')
  .implement({
    fields: (t) => ({
      deviceKey: t.exposeString('deviceKey'),
      reason: t.expose('reason', { type: NotCancelledReason }),
      message: t.exposeString('message'),
    }),
  });

const CancelUpgradeResult = builder.objectRef<Awaited<ReturnType<typeof cancelUpgrade>>>('CancelUpgradeResult').implement({
  fields: (t) => ({
    job: t.field({ type: OtaJob, resolve: (r) => r.job }),
    cancelled: t.field({
      type: [JobDevice],
      description: 'Devices now in Upgrade Failed with reason CANCELLED_BY_USER.',
      resolve: (r, _args, context) => loadTasks(context, r.cancelledTaskIds),
    }),
    notCancelled: t.field({ type: [NotCancelledDevice], resolve: (r) => r.notCancelled }),
  }),
});

function loadTasks(context: { services: { db: import('../db/client.js').Database } }, ids: number[]) {
  if (ids.length === 0) return [];
  return context.services.db.query.jobTasks.findMany({ where: { id: { in: ids } }, orderBy: { deviceKey: 'asc' } });
}

builder.mutationField('cancelUpgrade', (t) =>
  t.field({
    type: CancelUpgradeResult,
    description: 'Cancels the upgrade of To be Pushed and Pushed devices (Pushed devices are sent a cancel command).',
    authScopes: { permission: 'OTA_CONTROL' },
    args: { input: t.arg({ type: CancelUpgradeInput, required: true }) },
    errors: { types: [InvalidInputError, NotFoundError, InvalidJobStateError] },
    resolve: (_root, { input }, context) =>
      transact(context, (scope) => cancelUpgrade(scope, callerOf(context), { jobId: decodeId(String(input.jobId), 'OtaJob'), deviceKeys: input.deviceKeys })),
  }),
);

const RetryUpgradeInput = builder.inputType('RetryUpgradeInput', {
  fields: (t) => ({
    jobId: t.id({ required: true }),
    deviceKeys: t.stringList({ description: 'Omit to retry every failed device (of failureReason, if given).' }),
    failureReason: t.field({ type: FailureReason }),
  }),
});

const NotRetriedDevice = builder.objectRef<{ deviceKey: string; reason: 'NOT_IN_JOB' | 'NOT_FAILED'; message: string }>('NotRetriedDevice').implement({
  fields: (t) => ({
    deviceKey: t.exposeString('deviceKey'),
    reason: t.expose('reason', { type: NotRetriedReason }),
    message: t.exposeString('message'),
  }),
});

const RetryUpgradeResult = builder.objectRef<Awaited<ReturnType<typeof retryUpgrade>>>('RetryUpgradeResult').implement({
  fields: (t) => ({
    job: t.field({ type: OtaJob, resolve: (r) => r.job }),
    retriedCount: t.int({ resolve: (r) => r.retriedTaskIds.length }),
    retried: t.field({
      type: [JobDevice],
      description: 'The retried devices (up to the first 500).',
      resolve: (r, _args, context) => loadTasks(context, r.retriedTaskIds.slice(0, 500)),
    }),
    notRetried: t.field({ type: [NotRetriedDevice], resolve: (r) => r.notRetried }),
  }),
});

builder.mutationField('retryUpgrade', (t) =>
  t.field({
    type: RetryUpgradeResult,
    description: 'Starts a new attempt for failed devices: they go back to To be Pushed.',
    authScopes: { permission: 'OTA_CONTROL' },
    args: { input: t.arg({ type: RetryUpgradeInput, required: true }) },
    errors: { types: [InvalidInputError, NotFoundError, InvalidJobStateError] },
    resolve: (_root, { input }, context) =>
      transact(context, (scope) =>
        retryUpgrade(scope, callerOf(context), {
          jobId: decodeId(String(input.jobId), 'OtaJob'),
          deviceKeys: input.deviceKeys,
          failureReason: input.failureReason,
        }),
      ),
  }),
);

// ── Subscription ────────────────────────────────────────────────────────────────────────────────

interface JobDeviceUpdateShape {
  jobId: string;
  cursor: number;
  tasks: Task[];
  otherDeviceKeys: string[];
  removedDeviceKeys: string[];
}

const JobDeviceUpdate = builder.objectRef<JobDeviceUpdateShape>('JobDeviceUpdate').implement({
  description: 'A batch of changed devices of one job.',
  fields: (t) => ({
    jobId: t.id({ resolve: (u) => encodeGlobalID('OtaJob', u.jobId) }),
    cursor: t.string({
      description: 'Resubscribe with `after: cursor` to receive every change after this batch first (at least once, none missed).',
      resolve: (u) => String(u.cursor),
    }),
    devices: t.field({ type: [JobDevice], description: 'Changed devices matching the filter, in their new state.', resolve: (u) => u.tasks }),
    otherDeviceKeys: t.stringList({
      description: 'Changed devices that do not match the filter (any more): remove them from a filtered view.',
      resolve: (u) => u.otherDeviceKeys,
    }),
    removedDeviceKeys: t.stringList({ description: 'Devices removed from the job (a narrowed scope).', resolve: (u) => u.removedDeviceKeys }),
  }),
});

/** The update of one batch for one filter: the same object for every subscriber with that filter. */
const updatesOfBatches = new WeakMap<ChangeBatch, Map<string, JobDeviceUpdateShape>>();

function jobDeviceUpdate(jobId: string, batch: ChangeBatch, status: string | null, failureReason: string | null): JobDeviceUpdateShape {
  let byFilter = updatesOfBatches.get(batch);
  if (!byFilter) updatesOfBatches.set(batch, (byFilter = new Map()));
  const key = `${status}|${failureReason}`;
  let update = byFilter.get(key);
  if (!update) {
    const matches = (task: Task) => (!status || task.status === status) && (!failureReason || task.failureReason === failureReason);
    update = {
      jobId,
      cursor: batch.cursor,
      tasks: batch.tasks.filter(matches),
      otherDeviceKeys: batch.tasks.filter((task) => !matches(task)).map((task) => task.deviceKey),
      removedDeviceKeys: batch.removals.map((r) => r.deviceKey),
    };
    byFilter.set(key, update);
  }
  return update;
}

builder.subscriptionField('jobDeviceUpdates', (t) =>
  t.field({
    type: JobDeviceUpdate,
    description:
      'Batches of changed devices of a job, each with a cursor. With `after` (the cursor of a batch received earlier, also on another connection or server instance), first every change since then, read from the database, then live ones: no gap, duplicates only at the seam.',
    authScopes: { permission: 'OTA_READ' },
    args: {
      jobId: t.arg.id({ required: true }),
      status: t.arg({ type: UpgradeStatus, description: 'Only devices now in this tab (others come as otherDeviceKeys).' }),
      failureReason: t.arg({ type: FailureReason, description: 'Only devices now failed for this reason.' }),
      after: t.arg.string({ description: 'Resume after this cursor.' }),
    },
    subscribe: async (_root, args, context) => {
      const jobId = decodeIdOrNotFound(args.jobId);
      if (!(await findJob(context.services.db, callerOf(context), jobId))) throw notFound('OtaJob', String(args.jobId));
      const after = args.after === null || args.after === undefined ? null : Number(args.after);
      if (after !== null && !(Number.isSafeInteger(after) && after >= 0)) {
        throw new GraphQLError('after must be a cursor from an earlier JobDeviceUpdate', { extensions: { code: 'BAD_USER_INPUT' } });
      }
      const status = args.status ?? null;
      const failureReason = args.failureReason ?? null;
      // The follower itself, each batch mapped as it is delivered: no generator around it (a few
      // promises per event and subscriber). Its return() ends a pull waiting for the next batch.
      return context.services.live.jobChanges.follow(jobId, after, undefined, (batch) => {
        context.loaders.jobStatus.clear(jobId);
        return jobDeviceUpdate(jobId, batch, status, failureReason);
      });
    },
    resolve: (update: JobDeviceUpdateShape) => update,
  }),
);
