/** jobProgress and jobsUpdated: OtaJob states as they change. */
import type { GraphQLContext } from '../context.js';
import type { JobRow } from '../domain/jobs/settings-view.js';
import { findProductId } from '../domain/products.js';
import { abortable } from '../live/abortable.js';
import { changedJobs } from '../live/changed-jobs.js';
import type { JobSnapshot } from '../live/job-progress-hub.js';
import { builder } from '../builder.js';
import { OtaJob } from './job.js';
import { clearWaves } from './job-waves.js';
import { callerOf, notFound, subscribedJobId } from './support.js';

/** A snapshot's counts stand in for the per-request loaders, so its fields need no further reads. */
function primeCounts(context: GraphQLContext, snapshot: JobSnapshot): JobRow {
  const id = snapshot.job.id;
  context.loaders.statusCounts.clear(id).prime(id, snapshot.counts);
  context.loaders.failureReasonCounts.clear(id).prime(id, snapshot.failureReasons);
  context.loaders.jobStatus.prime(id, snapshot.job.status);
  clearWaves(context, id);
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
      const id = await subscribedJobId(context, jobId);
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
      return abortable((signal) =>
        changedJobs(
          db,
          { ouId: caller.ouId, productId },
          events.subscribe('ou:jobs', caller.ouId),
          events.subscribe('bus:resync'),
          config.jobProgressIntervalMs,
          signal,
        ),
      );
    },
    resolve: (snapshot: JobSnapshot, _args, context) => primeCounts(context, snapshot),
  }),
);
