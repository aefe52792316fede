/**
 * A device's page: the device by product and device key, its upgrade history across jobs, and a
 * subscription that keeps both live.
 */
import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { builder } from '../builder.js';
import { attemptDurationSeconds, type DeviceUpgrade, deviceUpgradeHistory, findDevice, historyCursor, MAX_HISTORY_PAGE } from '../domain/device-history.js';
import { FAILURE_REASON_LABELS } from '../domain/tasks/rules.js';
import { abortable } from '../live/abortable.js';
import { deviceChanges } from '../live/device-changes.js';
import { Device, DEVICE_READERS } from './device.js';
import { FailureReason, OtaJobType, UpgradeStatus } from './enums.js';
import { OtaJob } from './job.js';
import { callerOf, notFound } from './support.js';

/** How often a device page re-reads the device's online state when nothing else happened. */
const PRESENCE_POLL_MS = 10_000;

const DeviceUpgradeRef = builder.objectRef<DeviceUpgrade>('DeviceUpgrade').implement({
  description: 'One job of a device: its latest attempt in that job (a row of the device page’s upgrade history).',
  fields: (t) => ({
    job: t.field({ type: OtaJob, resolve: async (u, _args, context) => (await context.loaders.jobs.load(u.jobId))! }),
    jobName: t.exposeString('jobName'),
    jobType: t.field({ type: OtaJobType, resolve: (u) => u.jobType }),
    firmwareName: t.exposeString('firmwareName'),
    toVersion: t.exposeString('toVersion', { description: 'The version the job upgrades to.' }),
    fromVersion: t.exposeString('fromVersion', { nullable: true, description: 'The version the device had when it joined the job.' }),
    currentVersion: t.exposeString('currentVersion', { nullable: true, description: 'The version the device last reported in this job.' }),
    attempt: t.exposeInt('attempt', { description: 'The attempt this entry shows (1 unless retried).' }),
    status: t.field({ type: UpgradeStatus, resolve: (u) => u.status }),
    progress: t.exposeInt('progress'),
    failureReason: t.field({ type: FailureReason, nullable: true, resolve: (u) => u.failureReason }),
    failureReasonText: t.string({ nullable: true, resolve: (u) => (u.failureReason ? FAILURE_REASON_LABELS[u.failureReason] : null) }),
    failureDetail: t.exposeString('failureDetail', { nullable: true }),
    pushedAt: t.expose('pushedAt', { type: 'DateTime', nullable: true }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    failedAt: t.expose('failedAt', { type: 'DateTime', nullable: true }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    durationSeconds: t.int({
      nullable: true,
      description: 'From the push to the end of the attempt (to now while it runs); null before a push.',
      resolve: (u) => attemptDurationSeconds(u),
    }),
  }),
});

builder.objectField(Device, 'upgradeHistory', (t) =>
  t.connection(
    {
      type: DeviceUpgradeRef,
      description: "The device's upgrades across jobs, newest job first.",
      authScopes: { permission: 'OTA_READ' },
      resolve: (device, args, context) =>
        resolveCursorConnection({ args, toCursor: historyCursor, defaultSize: 50, maxSize: MAX_HISTORY_PAGE }, async (page: ResolveCursorConnectionArgs) => {
          if (page.before) return [];
          const result = await deviceUpgradeHistory(context.services.db, callerOf(context), device, { first: page.limit, after: page.after });
          return result.items;
        }),
    },
    { name: 'DeviceUpgradeConnection' },
    { name: 'DeviceUpgradeEdge' },
  ),
);

builder.queryField('device', (t) =>
  t.field({
    type: Device,
    nullable: true,
    description: 'A device of your organisation unit by its product and device key; null when there is none.',
    authScopes: { anyPermission: DEVICE_READERS },
    args: { productKey: t.arg.string({ required: true }), deviceKey: t.arg.string({ required: true }) },
    resolve: (_root, args, context) => findDevice(context.services.db, callerOf(context), args.productKey, args.deviceKey),
  }),
);

builder.subscriptionField('deviceUpdated', (t) =>
  t.field({
    type: Device,
    description:
      'A device (with whatever the selection reads of it, such as its upgrade history) now, then again whenever it may have changed: when a job of your unit changes (at most one event per JOB_PROGRESS_INTERVAL_MS), and every 10 seconds for its online state.',
    authScopes: { anyPermission: DEVICE_READERS },
    args: { productKey: t.arg.string({ required: true }), deviceKey: t.arg.string({ required: true }) },
    subscribe: async (_root, args, context) => {
      const caller = callerOf(context);
      const { db, events, config } = context.services;
      const device = await findDevice(db, caller, args.productKey, args.deviceKey);
      if (!device) throw notFound('Device', `${args.productKey}/${args.deviceKey}`);
      return abortable((signal) =>
        deviceChanges(db, device.id, events.subscribe('ou:jobs', caller.ouId), { intervalMs: config.jobProgressIntervalMs, pollMs: PRESENCE_POLL_MS }, signal),
      );
    },
    resolve: (device: typeof Device.$inferType) => device,
  }),
);
