/** OtaJob: the job node, its fields, and the `jobs` and `job` queries. */
import { GraphQLError } from 'graphql';
import { builder } from '../builder.js';
import { FAILURE_REASONS } from '../db/schema.js';
import { jobEditability } from '../domain/jobs/edit-rules.js';
import { MAX_PROGRESS_POINTS, progressHistory } from '../domain/jobs/progress-history.js';
import { countJobs, findJobSelecting, jobCondition } from '../domain/jobs/queries.js';
import { scheduleView, settingsView } from '../domain/jobs/settings-view.js';
import { findProductId } from '../domain/products.js';
import { isExecuting, jobProgress, totalTasks } from '../domain/tasks/rules.js';
import { JobField, JobPolicy, OtaJobStatus, OtaJobType } from './enums.js';
import { AbortThreshold, FailureReasonCount, JobScope, ProgressPointRef, RetryPolicy, Schedule, UpgradeStatusCounts } from './job-fields.js';
import { prefetchChildren } from './prefetch.js';
import { assertPageSize, callerOf, decodeId } from './support.js';

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
      // Its devices pages are read beside the job rather than after it (used only if it is found here).
      prefetchChildren('OtaJob', context, id, info);
      return findJobSelecting(context.services.db, callerOf(context), id, query({}));
    },
  }),
);
