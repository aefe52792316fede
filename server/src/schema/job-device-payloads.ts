/** The success types of cancelUpgrade and retryUpgrade: the devices acted on, and those refused with why. */
import { builder } from '../builder.js';
import type { cancelUpgrade } from '../domain/jobs/cancel-upgrade.js';
import type { retryUpgrade } from '../domain/jobs/retry.js';
import { NotCancelledReason, NotRetriedReason } from './enums.js';
import { JobDevice, loadTasks } from './job-device.js';
import { OtaJob } from './job.js';

const NotCancelledDevice = builder
  .objectRef<{ deviceKey: string; reason: 'NOT_IN_JOB' | 'IN_PROGRESS' | 'ALREADY_FINISHED'; message: string }>('NotCancelledDevice')
  .implement({
    fields: (t) => ({
      deviceKey: t.exposeString('deviceKey'),
      reason: t.expose('reason', { type: NotCancelledReason }),
      message: t.exposeString('message'),
    }),
  });

export const CancelUpgradeResult = builder.objectRef<Awaited<ReturnType<typeof cancelUpgrade>>>('CancelUpgradeResult').implement({
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

const NotRetriedDevice = builder.objectRef<{ deviceKey: string; reason: 'NOT_IN_JOB' | 'NOT_FAILED'; message: string }>('NotRetriedDevice').implement({
  fields: (t) => ({
    deviceKey: t.exposeString('deviceKey'),
    reason: t.expose('reason', { type: NotRetriedReason }),
    message: t.exposeString('message'),
  }),
});

export const RetryUpgradeResult = builder.objectRef<Awaited<ReturnType<typeof retryUpgrade>>>('RetryUpgradeResult').implement({
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
