/** Creating verification and upgrade jobs (DESIGN §3 "Job"). */
import { and, eq, isNull } from 'drizzle-orm';
import { z } from 'zod';
import type { Transaction } from '../../db/client.js';
import { firmwares, otaJobs } from '../../db/schema.js';
import { JOB_TYPE_LABELS } from '@updraft/labels';
import { recordAudit } from '../audit.js';
import { type Caller, requirePermission } from '../caller.js';
import { FirmwareNotVerifiedError, NotFoundError } from '../errors.js';
import type { TransactionScope } from '../transaction.js';
import { defaultInput, parseInput } from '../validation.js';
import { queueJobEvent } from '../webhooks/outbox.js';
import { jobEvents } from './events.js';
import { materialiseTargets } from './scope.js';
import {
  abortThreshold,
  jobName,
  LIMITS,
  maxConcurrency,
  policy,
  pushRatePerMinute,
  retryPolicy,
  schedule,
  srcVersions,
  timeoutMinutes,
  upgradeScope,
  verificationDeviceKeys,
} from './settings.js';
import { type JobRow, scheduleFromInput, settingsColumns } from './settings-view.js';
import { newSeed, rolloutPlanInput } from './wave-rules.js';
import { createRolloutPlan } from './waves.js';

const firmwareId = z.string().uuid('is not a firmware id');

const createVerificationJobInput = z.object({
  firmwareId,
  name: jobName,
  deviceKeys: verificationDeviceKeys,
  srcVersions: defaultInput(srcVersions, []),
  timeoutMinutes: defaultInput(timeoutMinutes, LIMITS.timeoutMinutesDefault),
});
export type CreateVerificationJobInput = z.input<typeof createVerificationJobInput>;

const createUpgradeJobInput = z.object({
  firmwareId,
  name: jobName,
  scope: upgradeScope,
  policy: defaultInput(policy, 'SNAPSHOT'),
  maxConcurrency: defaultInput(maxConcurrency, LIMITS.maxConcurrencyDefault),
  timeoutMinutes: defaultInput(timeoutMinutes, LIMITS.timeoutMinutesDefault),
  retry: defaultInput(retryPolicy, { count: 0, intervalMinutes: 0 }),
  schedule: schedule.nullish(),
  pushRatePerMinute: pushRatePerMinute.nullish(),
  abortThreshold: abortThreshold.nullish(),
  rollout: rolloutPlanInput.nullish(),
});
export type CreateUpgradeJobInput = z.input<typeof createUpgradeJobInput>;

/** The firmware, locked against a concurrent delete until the job exists. */
async function lockFirmware(tx: Transaction, caller: Caller, id: string) {
  const [row] = await tx
    .select()
    .from(firmwares)
    .where(and(eq(firmwares.id, id), eq(firmwares.ouId, caller.ouId), isNull(firmwares.deletedAt)))
    .for('share');
  if (!row) throw new NotFoundError('Firmware', id);
  return row;
}

type NewJobColumns = Omit<typeof otaJobs.$inferInsert, 'ouId' | 'productId' | 'firmwareId' | 'createdBy'>;

/** Inserts the job for the firmware's product, gives it its tasks and queues its events. */
async function insertJob({ tx, emit }: TransactionScope, caller: Caller, firmware: { id: string; productId: string }, columns: NewJobColumns): Promise<JobRow> {
  const [job] = await tx
    .insert(otaJobs)
    .values({ ...columns, ouId: caller.ouId, productId: firmware.productId, firmwareId: firmware.id, createdBy: caller.userId })
    .returning();
  await materialiseTargets(tx, job.id);
  jobEvents(job, 'created').forEach(emit);
  await queueJobEvent(tx, 'job.created', job.id);
  await recordAudit(tx, caller, {
    action: 'JOB_CREATED',
    target: { type: 'JOB', id: job.id, name: job.name },
    summary: `${JOB_TYPE_LABELS[job.type]} job "${job.name}" created`,
    details: { type: job.type, firmwareId: firmware.id, status: job.status },
  });
  return job;
}

export async function createVerificationJob(scope: TransactionScope, caller: Caller, input: CreateVerificationJobInput): Promise<JobRow> {
  requirePermission(caller, 'OTA_CREATE');
  const values = parseInput(createVerificationJobInput, input);
  const firmware = await lockFirmware(scope.tx, caller, values.firmwareId);
  return insertJob(scope, caller, firmware, {
    type: 'VERIFICATION',
    name: values.name,
    status: 'RUNNING',
    startedAt: new Date(),
    targetMode: 'DEVICE_KEYS',
    targetDeviceKeys: values.deviceKeys,
    srcVersions: values.srcVersions,
    timeoutMinutes: values.timeoutMinutes,
  });
}

export async function createUpgradeJob(scope: TransactionScope, caller: Caller, input: CreateUpgradeJobInput): Promise<JobRow> {
  requirePermission(caller, 'OTA_CREATE');
  const values = parseInput(createUpgradeJobInput, input);
  const firmware = await lockFirmware(scope.tx, caller, values.firmwareId);
  if (firmware.requireVerification && !firmware.verified) throw new FirmwareNotVerifiedError(firmware.name);
  const now = new Date();
  const startsLater = !!values.schedule?.startAt && values.schedule.startAt > now;
  const rollout = values.rollout ? { ...values.rollout, seed: values.rollout.randomOrder ? (values.rollout.seed ?? newSeed()) : null } : null;
  const job = await insertJob(scope, caller, firmware, {
    type: 'UPGRADE',
    name: values.name,
    status: startsLater ? 'SCHEDULED' : 'RUNNING',
    startedAt: startsLater ? null : now,
    ...settingsColumns({
      allDevices: values.scope.allDevices,
      deviceKeys: values.scope.deviceKeys,
      srcVersions: values.scope.srcVersions,
      tags: values.scope.tags,
      policy: values.policy,
      maxConcurrency: values.maxConcurrency,
      timeoutMinutes: values.timeoutMinutes,
      retry: values.retry,
      schedule: values.schedule ? scheduleFromInput(values.schedule) : null,
      pushRatePerMinute: values.pushRatePerMinute ?? null,
      abortThreshold: values.abortThreshold ?? null,
    }),
    ...(rollout ? { activeWave: 0, rolloutSeed: rollout.seed, canaryDeviceKeys: rollout.canaryDeviceKeys } : {}),
  });
  if (rollout) await createRolloutPlan(scope.tx, job, rollout, caller.displayName);
  return job;
}
