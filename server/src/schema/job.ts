import { sql } from 'drizzle-orm';
import { GraphQLError } from 'graphql';
import { preparedFor, selectionShapeKey } from '../db/prepared.js';
import { builder } from '../builder.js';
import { FirmwareNotVerifiedError, InvalidInputError, InvalidJobStateError, JobNotEditableError, NotFoundError } from '../domain/errors.js';
import { cancelJob, startJob, stopJob } from '../domain/jobs/control.js';
import { createUpgradeJob, createVerificationJob } from '../domain/jobs/create.js';
import { editJob } from '../domain/jobs/edit.js';
import { MAX_PROGRESS_POINTS, progressHistory, type ProgressPoint } from '../domain/jobs/progress-history.js';
import { jobEditability } from '../domain/jobs/edit-rules.js';
import { countJobs, findJob, jobCondition } from '../domain/jobs/queries.js';
import { abortable } from '../live/abortable.js';
import { changedJobs } from '../live/changed-jobs.js';
import type { JobSnapshot } from '../live/job-progress-hub.js';
import type { GraphQLContext } from '../context.js';
import { type JobRow, scheduleView, settingsView } from '../domain/jobs/settings-view.js';
import { findProductId } from '../domain/products.js';
import { FAILURE_REASONS, type FailureReason as FailureReasonValue, type FieldChange } from '../db/schema.js';
import { isExecuting, jobProgress, totalTasks, type StatusCounts } from '../domain/tasks/rules.js';
import { FailureReason, JobField, JobPolicy, OtaJobStatus, OtaJobType } from './enums.js';
import { prefetchChildren } from './prefetch.js';
import { assertPageSize, callerOf, decodeId, decodeIdOrNotFound, notFound, transact } from './support.js';

const UpgradeStatusCounts = builder.objectRef<StatusCounts>('UpgradeStatusCounts').implement({
  description: 'Devices per tab of the job details page.',
  fields: (t) => ({
    toBePushed: t.exposeInt('toBePushed'),
    pushed: t.exposeInt('pushed'),
    inProgress: t.exposeInt('inProgress'),
    succeeded: t.exposeInt('succeeded'),
    failed: t.exposeInt('failed'),
  }),
});

const FailureReasonCount = builder.objectRef<{ reason: FailureReasonValue; count: number }>('FailureReasonCount').implement({
  fields: (t) => ({ reason: t.expose('reason', { type: FailureReason }), count: t.exposeInt('count') }),
});

const TagRef = builder.objectRef<{ key: string; value: string }>('TagFilter').implement({
  fields: (t) => ({ key: t.exposeString('key'), value: t.exposeString('value') }),
});

const JobScope = builder.objectRef<ReturnType<typeof settingsView>>('JobScope').implement({
  description: 'Which devices the job targets. The filters combine with AND.',
  fields: (t) => ({
    allDevices: t.exposeBoolean('allDevices', { description: 'Every device of the product (else deviceKeys).' }),
    deviceKeys: t.exposeStringList('deviceKeys'),
    srcVersions: t.exposeStringList('srcVersions', { description: 'Only devices on these versions; empty = any.' }),
    tags: t.field({
      type: [TagRef],
      description: 'Only devices with these tags (all keys; any of the values given for one key).',
      resolve: (s) => s.tags,
    }),
  }),
});

const RetryPolicy = builder.objectRef<{ count: number; intervalMinutes: number }>('RetryPolicy').implement({
  fields: (t) => ({ count: t.exposeInt('count'), intervalMinutes: t.exposeInt('intervalMinutes') }),
});

const Schedule = builder.objectRef<NonNullable<ReturnType<typeof scheduleView>>>('Schedule').implement({
  fields: (t) => ({
    startAt: t.expose('startAt', { type: 'DateTime', nullable: true }),
    endAt: t.expose('endAt', { type: 'DateTime', nullable: true }),
    dailyWindowStart: t.exposeString('dailyWindowStart', { nullable: true, description: '"HH:MM" in timezone.' }),
    dailyWindowEnd: t.exposeString('dailyWindowEnd', { nullable: true, description: '"HH:MM"; before the start = spans midnight.' }),
    timezone: t.exposeString('timezone'),
  }),
});

const AbortThreshold = builder.objectRef<{ percent: number; minFinished: number }>('AbortThreshold').implement({
  description: 'The job stops when this percentage of its finished devices failed, once minFinished devices finished.',
  fields: (t) => ({ percent: t.exposeInt('percent'), minFinished: t.exposeInt('minFinished') }),
});

const FieldChangeRef = builder.objectRef<FieldChange>('FieldChange').implement({
  fields: (t) => ({
    field: t.exposeString('field'),
    from: t.string({ nullable: true, description: 'Previous value as JSON.', resolve: (c) => JSON.stringify(c.from ?? null) }),
    to: t.string({ nullable: true, description: 'New value as JSON.', resolve: (c) => JSON.stringify(c.to ?? null) }),
  }),
});

const ProgressPointRef = builder.objectRef<ProgressPoint>('ProgressPoint').implement({
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime' }),
    succeeded: t.exposeInt('succeeded', { description: 'Devices succeeded by then.' }),
    failed: t.exposeInt('failed', { description: 'Devices failed by then.' }),
  }),
});

const JobEdit = builder.drizzleObject('jobEdits', {
  name: 'JobEdit',
  fields: (t) => ({
    editedAt: t.expose('editedAt', { type: 'DateTime' }),
    editedBy: t.exposeString('editedByName'),
    changes: t.field({ type: [FieldChangeRef], resolve: (e) => e.changes }),
  }),
});

export const OtaJob = builder.drizzleNode('otaJobs', {
  name: 'OtaJob',
  id: { column: (j) => j.id },
  authScopes: { permission: 'OTA_READ' },
  fields: (t) => {
    const counts = (job: { id: string }, context: Parameters<Parameters<typeof t.int>[0]['resolve']>[2]) => context.loaders.statusCounts.load(job.id);
    return {
      name: t.exposeString('name'),
      type: t.expose('type', { type: OtaJobType }),
      status: t.expose('status', { type: OtaJobStatus }),
      statusReason: t.exposeString('statusReason', { nullable: true, description: 'Why the engine stopped the job, if it did.' }),
      product: t.relation('product'),
      firmware: t.relation('firmware'),
      createdAt: t.expose('createdAt', { type: 'DateTime' }),
      startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
      finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
      updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
      deviceCount: t.int({
        description: 'Devices to be verified / upgraded (all tabs).',
        resolve: async (job, _args, context) => totalTasks(await counts(job, context)),
      }),
      progress: t.float({
        description: 'Final devices (succeeded + failed) / all devices × 100.',
        resolve: async (job, _args, context) => jobProgress(await counts(job, context)),
      }),
      statusCounts: t.field({ type: UpgradeStatusCounts, resolve: (job, _args, context) => counts(job, context) }),
      failureReasonCounts: t.field({
        type: [FailureReasonCount],
        description: 'Failed devices per failure reason (reasons with none are left out).',
        resolve: async (job, _args, context) => {
          const byReason = await context.loaders.failureReasonCounts.load(job.id);
          return FAILURE_REASONS.filter((r) => byReason.has(r)).map((reason) => ({ reason, count: byReason.get(reason)! }));
        },
      }),
      timeoutMinutes: t.exposeInt('timeoutMinutes', { description: 'Counted from the push; 5 minutes to 48 hours.' }),
      maxConcurrency: t.exposeInt('maxConcurrency', { description: 'Most devices Pushed + In Progress at once.' }),
      srcVersions: t.exposeStringList('srcVersions', { description: 'Versions to be upgraded; empty = any.' }),
      scope: t.field({ type: JobScope, resolve: (job) => settingsView(job) }),
      policy: t.expose('policy', { type: JobPolicy }),
      retry: t.field({ type: RetryPolicy, resolve: (job) => settingsView(job).retry }),
      schedule: t.field({ type: Schedule, nullable: true, resolve: (job) => scheduleView(job) }),
      pushRatePerMinute: t.exposeInt('pushRatePerMinute', { nullable: true }),
      abortThreshold: t.field({ type: AbortThreshold, nullable: true, resolve: (job) => settingsView(job).abortThreshold }),
      editable: t.boolean({
        description: 'Whether editJob can change anything now.',
        resolve: async (job, _args, context) => jobEditability(job, isExecuting(await counts(job, context))).fields.length > 0,
      }),
      editableFields: t.field({
        type: [JobField],
        description: 'The EditJobInput fields editJob accepts now.',
        resolve: async (job, _args, context) => [...jobEditability(job, isExecuting(await counts(job, context))).fields],
      }),
      notEditableReason: t.string({
        nullable: true,
        description: 'Why editing is limited or impossible now (e.g. a verification job is executing).',
        resolve: async (job, _args, context) => jobEditability(job, isExecuting(await counts(job, context))).reason,
      }),
      progressHistory: t.field({
        type: [ProgressPointRef],
        description:
          "Devices final (succeeded, failed) at `points` + 1 evenly spaced instants from the start of the job to now (or its end), from the devices' finish times: the progress chart.",
        args: { points: t.arg.int({ defaultValue: 60, required: true }) },
        select: { columns: { id: true, createdAt: true, startedAt: true, finishedAt: true } },
        resolve: (job, { points }, context) => {
          if (points < 1 || points > MAX_PROGRESS_POINTS) {
            throw new GraphQLError(`points must be between 1 and ${MAX_PROGRESS_POINTS}`, { extensions: { code: 'BAD_USER_INPUT' } });
          }
          return progressHistory(context.services.db, job, points);
        },
      }),
      edits: t.relation('edits', {
        description: 'Every accepted edit, latest first.',
        query: { orderBy: { editedAt: 'desc' } },
      }),
    };
  },
});
void JobEdit;

builder.queryField('jobs', (t) =>
  t.drizzleConnection(
    {
      type: 'otaJobs',
      description: 'OTA jobs, newest first.',
      authScopes: { permission: 'OTA_READ' },
      args: {
        productKey: t.arg.string(),
        type: t.arg({ type: OtaJobType }),
        status: t.arg({ type: OtaJobStatus }),
        search: t.arg.string({ description: 'Part of the job name, any case.' }),
      },
      totalCount: async (_root, args, context) => {
        const caller = callerOf(context);
        const productId = await findProductId(context.services.db, caller, args.productKey);
        return countJobs(context.services.db, caller, { ...args, productId });
      },
      resolve: async (query, _root, args, context) => {
        assertPageSize(args);
        const caller = callerOf(context);
        const productId = await findProductId(context.services.db, caller, args.productKey);
        const condition = jobCondition(caller, { ...args, productId });
        return context.services.db.query.otaJobs.findMany(query({ where: { RAW: (table) => condition(table) }, orderBy: { createdAt: 'desc' } }));
      },
    },
    { name: 'OtaJobConnection' },
    { name: 'OtaJobEdge' },
  ),
);

builder.queryField('job', (t) =>
  t.drizzleField({
    type: 'otaJobs',
    nullable: true,
    description: 'One job; null when no job with this id exists in your organisation unit.',
    authScopes: { permission: 'OTA_READ' },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, context, info) => {
      let id: string;
      try {
        id = decodeId(String(args.id), 'OtaJob');
      } catch {
        return null;
      }
      const db = context.services.db;
      const ouId = callerOf(context).ouId;
      // Its devices pages are read beside the job rather than after it (used only if it is found here).
      prefetchChildren('OtaJob', context, id, info);
      // The details page asks for the same selection on every load: a prepared statement per
      // selection shape saves building the query and the database parsing and planning it.
      const selection = query({});
      const shape = selectionShapeKey('job_by_id', selection);
      const found = shape
        ? preparedFor(db, shape, () =>
            db.query.otaJobs.findFirst({ ...selection, where: { id: sql.placeholder('id'), ouId: sql.placeholder('ouId') } }).prepare('job_by_id'),
          ).execute({ id, ouId })
        : db.query.otaJobs.findFirst({ ...selection, where: { id, ouId } });
      return found.then((job) => job ?? null);
    },
  }),
);

// ── Mutations ───────────────────────────────────────────────────────────────────────────────────

const TagFilterInput = builder.inputType('TagFilterInput', {
  fields: (t) => ({ key: t.string({ required: true }), value: t.string({ required: true }) }),
});

const JobScopeInput = builder.inputType('JobScopeInput', {
  description: 'allDevices: true, or a list of deviceKeys; srcVersions narrow either; tags narrow allDevices.',
  fields: (t) => ({
    allDevices: t.boolean(),
    deviceKeys: t.stringList(),
    srcVersions: t.stringList(),
    tags: t.field({ type: [TagFilterInput] }),
  }),
});

const RetryPolicyInput = builder.inputType('RetryPolicyInput', {
  fields: (t) => ({
    count: t.int({ required: true, description: '0 to 5 automatic retries of a failed device.' }),
    intervalMinutes: t.int({ required: true, description: 'Wait before each retry.' }),
  }),
});

const ScheduleInput = builder.inputType('ScheduleInput', {
  fields: (t) => ({
    startAt: t.field({ type: 'DateTime', description: 'The job is SCHEDULED until then.' }),
    endAt: t.field({ type: 'DateTime', description: 'Nothing is pushed after this.' }),
    dailyWindowStart: t.string({ description: '"HH:MM": push only inside the daily window.' }),
    dailyWindowEnd: t.string({ description: '"HH:MM"; earlier than the start spans midnight.' }),
    timezone: t.string({ description: 'IANA time zone of the window; default UTC.' }),
  }),
});

const AbortThresholdInput = builder.inputType('AbortThresholdInput', {
  fields: (t) => ({
    percent: t.int({ required: true, description: 'Failure percentage (1-100) that stops the job.' }),
    minFinished: t.int({ description: 'Applies once this many devices finished (default 10).' }),
  }),
});

const CreateVerificationJobInput = builder.inputType('CreateVerificationJobInput', {
  fields: (t) => ({
    firmwareId: t.id({ required: true }),
    name: t.string({ required: true }),
    deviceKeys: t.stringList({ required: true, description: '1 to 5 devices to verify the firmware on.' }),
    srcVersions: t.stringList({ description: 'Versions to be upgraded; empty = any.' }),
    timeoutMinutes: t.int({ description: 'Default 120; 5 minutes to 48 hours.' }),
  }),
});

const CreateUpgradeJobInput = builder.inputType('CreateUpgradeJobInput', {
  fields: (t) => ({
    firmwareId: t.id({ required: true }),
    name: t.string({ required: true }),
    scope: t.field({ type: JobScopeInput, required: true }),
    policy: t.field({ type: JobPolicy, description: 'Default SNAPSHOT.' }),
    maxConcurrency: t.int({ description: 'Default 300.' }),
    timeoutMinutes: t.int({ description: 'Default 120; 5 minutes to 48 hours.' }),
    retry: t.field({ type: RetryPolicyInput }),
    schedule: t.field({ type: ScheduleInput }),
    pushRatePerMinute: t.int(),
    abortThreshold: t.field({ type: AbortThresholdInput }),
  }),
});

const EditJobInput = builder.inputType('EditJobInput', {
  description:
    'Omitted fields stay as they are; null clears schedule, pushRatePerMinute and abortThreshold. Refused fields are named in JobNotEditableError and nothing changes.',
  fields: (t) => ({
    jobId: t.id({ required: true }),
    name: t.string({ description: 'Never editable: listed so that a change is refused by name.' }),
    firmwareId: t.id({ description: 'Never editable.' }),
    allDevices: t.boolean(),
    deviceKeys: t.stringList(),
    srcVersions: t.stringList(),
    tags: t.field({ type: [TagFilterInput] }),
    timeoutMinutes: t.int(),
    policy: t.field({ type: JobPolicy }),
    maxConcurrency: t.int(),
    retry: t.field({ type: RetryPolicyInput }),
    schedule: t.field({ type: ScheduleInput }),
    pushRatePerMinute: t.int(),
    abortThreshold: t.field({ type: AbortThresholdInput }),
  }),
});

type ScheduleArg = { startAt?: Date | null; endAt?: Date | null; dailyWindowStart?: string | null; dailyWindowEnd?: string | null; timezone?: string | null };
const scheduleArg = (s: ScheduleArg | null | undefined) => (s === undefined ? undefined : s === null ? null : { ...s, timezone: s.timezone ?? undefined });
const orUndefined = <T>(value: T | null | undefined): T | undefined => (value === null ? undefined : value);

/** A firmware global ID that does not decode is reported as the domain reports a bad id. */
function firmwareIdArg(id: string | number): string {
  return decodeId(String(id), 'Firmware');
}

const JOB_CREATE_ERRORS = [InvalidInputError, NotFoundError, FirmwareNotVerifiedError];

builder.mutationField('createVerificationJob', (t) =>
  t.drizzleField({
    type: 'otaJobs',
    authScopes: { permission: 'OTA_CREATE' },
    args: { input: t.arg({ type: CreateVerificationJobInput, required: true }) },
    errors: { types: JOB_CREATE_ERRORS },
    resolve: (_query, _root, { input }, context) =>
      transact(context, (scope) =>
        createVerificationJob(scope, callerOf(context), {
          firmwareId: firmwareIdArg(input.firmwareId),
          name: input.name,
          deviceKeys: input.deviceKeys,
          srcVersions: orUndefined(input.srcVersions),
          timeoutMinutes: orUndefined(input.timeoutMinutes),
        }),
      ),
  }),
);

builder.mutationField('createUpgradeJob', (t) =>
  t.drizzleField({
    type: 'otaJobs',
    authScopes: { permission: 'OTA_CREATE' },
    args: { input: t.arg({ type: CreateUpgradeJobInput, required: true }) },
    errors: { types: JOB_CREATE_ERRORS },
    resolve: (_query, _root, { input }, context) =>
      transact(context, (scope) =>
        createUpgradeJob(scope, callerOf(context), {
          firmwareId: firmwareIdArg(input.firmwareId),
          name: input.name,
          scope: {
            allDevices: orUndefined(input.scope.allDevices),
            deviceKeys: orUndefined(input.scope.deviceKeys),
            srcVersions: orUndefined(input.scope.srcVersions),
            tags: orUndefined(input.scope.tags),
          },
          policy: orUndefined(input.policy),
          maxConcurrency: orUndefined(input.maxConcurrency),
          timeoutMinutes: orUndefined(input.timeoutMinutes),
          retry: orUndefined(input.retry),
          schedule: scheduleArg(input.schedule),
          pushRatePerMinute: input.pushRatePerMinute,
          abortThreshold: input.abortThreshold && { ...input.abortThreshold, minFinished: orUndefined(input.abortThreshold.minFinished) },
        }),
      ),
  }),
);

const EditJobResult = builder.objectRef<Awaited<ReturnType<typeof editJob>>>('EditJobResult').implement({
  fields: (t) => ({
    job: t.field({ type: OtaJob, resolve: (r) => r.job }),
    changedFields: t.field({ type: [JobField], resolve: (r) => r.changedFields as never }),
    devicesAdded: t.exposeInt('tasksAdded', { description: 'Devices a widened scope added.' }),
    devicesRemoved: t.exposeInt('tasksRemoved', { description: 'To be Pushed devices a narrowed scope removed.' }),
  }),
});

builder.mutationField('editJob', (t) =>
  t.field({
    type: EditJobResult,
    authScopes: { permission: 'OTA_CONTROL' },
    args: { input: t.arg({ type: EditJobInput, required: true }) },
    errors: { types: [InvalidInputError, NotFoundError, JobNotEditableError] },
    resolve: (_root, { input }, context) =>
      transact(context, (scope) =>
        editJob(
          scope,
          callerOf(context),
          {
            jobId: decodeId(String(input.jobId), 'OtaJob'),
            name: orUndefined(input.name),
            firmwareId: input.firmwareId === null || input.firmwareId === undefined ? undefined : firmwareIdOrRaw(input.firmwareId),
            allDevices: orUndefined(input.allDevices),
            deviceKeys: orUndefined(input.deviceKeys),
            srcVersions: orUndefined(input.srcVersions),
            tags: orUndefined(input.tags),
            timeoutMinutes: orUndefined(input.timeoutMinutes),
            policy: orUndefined(input.policy),
            maxConcurrency: orUndefined(input.maxConcurrency),
            retry: orUndefined(input.retry),
            schedule: scheduleArg(input.schedule),
            pushRatePerMinute: input.pushRatePerMinute,
            abortThreshold:
              input.abortThreshold === undefined
                ? undefined
                : input.abortThreshold && { ...input.abortThreshold, minFinished: orUndefined(input.abortThreshold.minFinished) },
          },
          { minuteMs: context.services.config.engineMinuteMs },
        ),
      ),
  }),
);

/** An edit naming any firmware is refused by the edit rules; a garbled id must not hide that. */
function firmwareIdOrRaw(id: string | number): string {
  try {
    return decodeId(String(id), 'Firmware');
  } catch {
    return String(id);
  }
}

for (const [name, action, description] of [
  ['stopJob', stopJob, 'Pauses a running or scheduled job: nothing new is pushed; pushed devices carry on.'],
  ['startJob', startJob, 'Resumes a stopped job, or starts a scheduled one now.'],
  ['cancelJob', cancelJob, 'Ends the job: To be Pushed and Pushed devices fail as Cancelled by user.'],
] as const) {
  builder.mutationField(name, (t) =>
    t.drizzleField({
      type: 'otaJobs',
      description,
      authScopes: { permission: 'OTA_CONTROL' },
      args: { id: t.arg.id({ required: true }) },
      errors: { types: [NotFoundError, InvalidJobStateError] },
      resolve: (_query, _root, { id }, context) => transact(context, (scope) => action(scope, callerOf(context), decodeId(String(id), 'OtaJob'))),
    }),
  );
}

// ── Subscriptions ───────────────────────────────────────────────────────────────────────────────

/** A snapshot's counts stand in for the per-request loaders, so its fields need no further reads. */
function primeCounts(context: GraphQLContext, snapshot: JobSnapshot): JobRow {
  const id = snapshot.job.id;
  context.loaders.statusCounts.clear(id).prime(id, snapshot.counts);
  context.loaders.failureReasonCounts.clear(id).prime(id, snapshot.failureReasons);
  context.loaders.jobStatus.prime(id, snapshot.job.status);
  return snapshot.job;
}

builder.subscriptionField('jobProgress', (t) =>
  t.field({
    type: OtaJob,
    description:
      "The job's current state first, then its state after changes: at most one event per JOB_PROGRESS_INTERVAL_MS (250 ms by default); the last state is never dropped, and a slow client simply gets the newest state when it is ready.",
    authScopes: { permission: 'OTA_READ' },
    args: { jobId: t.arg.id({ required: true }) },
    subscribe: async (_root, { jobId }, context) => {
      const id = decodeIdOrNotFound(jobId);
      if (!(await findJob(context.services.db, callerOf(context), id))) throw notFound('OtaJob', String(jobId));
      // The channel itself (no wrapper: a step per event and subscriber); its return() ends a waiting pull.
      return context.services.live.jobProgress.watch(id);
    },
    resolve: (snapshot: JobSnapshot, _args, context) => primeCounts(context, snapshot),
  }),
);

builder.subscriptionField('jobsUpdated', (t) =>
  t.field({
    type: OtaJob,
    description:
      'Jobs of your organisation unit (of one product, if given) as they are created or change status or progress: one event per changed job, at most one per job per JOB_PROGRESS_INTERVAL_MS.',
    authScopes: { permission: 'OTA_READ' },
    args: { productKey: t.arg.string() },
    subscribe: async (_root, { productKey }, context) => {
      const caller = callerOf(context);
      const { db, events, config } = context.services;
      const productId = await findProductId(db, caller, productKey);
      if (productId === null) throw notFound('Product', String(productKey));
      return abortable((signal) => changedJobs(db, events.subscribe('ou:jobs', caller.ouId), productId, config.jobProgressIntervalMs, signal));
    },
    resolve: (snapshot: JobSnapshot, _args, context) => primeCounts(context, snapshot),
  }),
);
