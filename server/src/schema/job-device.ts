/** JobDevice: one device's upgrade in one job, as a relay node over task rows. */
import { inArray } from 'drizzle-orm';
import { type FieldNode, type GraphQLResolveInfo, Kind, type SelectionSetNode } from 'graphql';
import { builder } from '../builder.js';
import type { Database } from '../db/client.js';
import { isTaskId } from '../db/keys.js';
import { jobTasks } from '../db/schema.js';
import { effectiveWaitingReason, FAILURE_REASON_LABELS } from '../domain/tasks/rules.js';
import type { Task, TaskColumn } from '../domain/tasks/search.js';
import { Device } from './device.js';
import { FailureReason, UpgradeStatus, WaitingReason } from './enums.js';
import { OtaJob } from './job.js';

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
    wave: t.exposeInt('waveIndex', {
      nullable: true,
      description: "Index of the device's wave in the job's rollout plan (OtaJob.waves); null without a plan.",
    }),
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
  wave: ['waveIndex'],
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
export function taskColumnsSelected(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>): TaskColumn[] | undefined {
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
  const wanted = ids.filter(isTaskId).map(Number);
  const rows = wanted.length ? await db.select().from(jobTasks).where(inArray(jobTasks.id, wanted)) : [];
  const byId = new Map(rows.map((row) => [String(row.id), row]));
  return ids.map((id) => byId.get(id) ?? null);
}

/** Task rows by id, in device-key order: the devices a mutation acted on. */
export function loadTasks(context: { services: { db: Database } }, ids: number[]) {
  if (ids.length === 0) return [];
  return context.services.db.query.jobTasks.findMany({ where: { id: { in: ids } }, orderBy: { deviceKey: 'asc' } });
}
