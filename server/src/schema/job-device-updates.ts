/** jobDeviceUpdates: a job's changed devices in batches, each batch mapped once per filter. */
import { encodeGlobalID } from '@pothos/plugin-relay';
import { GraphQLError } from 'graphql';
import { builder } from '../builder.js';
import type { Task } from '../domain/tasks/search.js';
import type { ChangeBatch } from '../live/job-changes-hub.js';
import { FailureReason, UpgradeStatus } from './enums.js';
import { JobDevice } from './job-device.js';
import { subscribedJobId } from './support.js';

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

function jobDeviceUpdate(jobId: string, batch: ChangeBatch, status: string | null, failureReason: string | null, wave: number | null): JobDeviceUpdateShape {
  let byFilter = updatesOfBatches.get(batch);
  if (!byFilter) updatesOfBatches.set(batch, (byFilter = new Map()));
  const key = `${status}|${failureReason}|${wave}`;
  let update = byFilter.get(key);
  if (!update) {
    const matches = (task: Task) =>
      (!status || task.status === status) && (!failureReason || task.failureReason === failureReason) && (wave === null || task.waveIndex === wave);
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
      wave: t.arg.int({ description: 'Only devices of this wave of the rollout plan (others come as otherDeviceKeys).' }),
      after: t.arg.string({ description: 'Resume after this cursor.' }),
    },
    subscribe: async (_root, args, context) => {
      const jobId = await subscribedJobId(context, args.jobId);
      const after = args.after === null || args.after === undefined ? null : Number(args.after);
      if (after !== null && !(Number.isSafeInteger(after) && after >= 0)) {
        throw new GraphQLError('after must be a cursor from an earlier JobDeviceUpdate', { extensions: { code: 'BAD_USER_INPUT' } });
      }
      const status = args.status ?? null;
      const failureReason = args.failureReason ?? null;
      const wave = args.wave ?? null;
      // The follower itself, each batch mapped as it is delivered: no generator around it (a few
      // promises per event and subscriber). Its return() ends a pull waiting for the next batch.
      return context.services.live.jobChanges.follow(jobId, after, undefined, (batch) => {
        context.loaders.jobStatus.clear(jobId);
        return jobDeviceUpdate(jobId, batch, status, failureReason, wave);
      });
    },
    resolve: (update: JobDeviceUpdateShape) => update,
  }),
);
