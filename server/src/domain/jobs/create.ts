/** Creating verification and upgrade jobs (DESIGN §3 "Job"). */
import { and, eq, isNull } from 'drizzle-orm';
import { z } from 'zod';
import type { Transaction } from '../../db/client.js';
import { firmwares, otaJobs } from '../../db/schema.js';
import { type Caller, requirePermission } from '../caller.js';
import { FirmwareNotVerifiedError, NotFoundError } from '../errors.js';
import type { TransactionScope } from '../transaction.js';
import { parseInput } from '../validation.js';
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
import { type JobRow, settingsColumns } from './settings-view.js';

const firmwareId = z.string().uuid('is not a firmware id');

const createVerificationJobInput = z.object({
  firmwareId,
  name: jobName,
  deviceKeys: verificationDeviceKeys,
  srcVersions: srcVersions.default([]),
  timeoutMinutes: timeoutMinutes.default(LIMITS.timeoutMinutesDefault),
});
export type CreateVerificationJobInput = z.input<typeof createVerificationJobInput>;

const createUpgradeJobInput = z.object({
  firmwareId,
  name: jobName,
  scope: upgradeScope,
  policy: policy.default('SNAPSHOT'),
  maxConcurrency: maxConcurrency.default(LIMITS.maxConcurrencyDefault),
  timeoutMinutes: timeoutMinutes.default(LIMITS.timeoutMinutesDefault),
  retry: retryPolicy.default({ count: 0, intervalMinutes: 0 }),
  schedule: schedule.nullish(),
  pushRatePerMinute: pushRatePerMinute.nullish(),
  abortThreshold: abortThreshold.nullish(),
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

export async function createVerificationJob(
  { tx, emit }: TransactionScope,
  caller: Caller,
  input: CreateVerificationJobInput,
): Promise<JobRow> {
  requirePermission(caller, 'OTA_CREATE');
  const values = parseInput(createVerificationJobInput, input);
  const firmware = await lockFirmware(tx, caller, values.firmwareId);
  const now = new Date();
  const [job] = await tx
    .insert(otaJobs)
    .values({
      ouId: caller.ouId,
      productId: firmware.productId,
      firmwareId: firmware.id,
      type: 'VERIFICATION',
      name: values.name,
      status: 'RUNNING',
      startedAt: now,
      createdBy: caller.userId,
      targetMode: 'DEVICE_KEYS',
      targetDeviceKeys: values.deviceKeys,
      srcVersions: values.srcVersions,
      timeoutMinutes: values.timeoutMinutes,
    })
    .returning();
  await materialiseTargets(tx, job.id);
  jobEvents(job, 'created').forEach(emit);
  return job;
}

export async function createUpgradeJob(
  { tx, emit }: TransactionScope,
  caller: Caller,
  input: CreateUpgradeJobInput,
): Promise<JobRow> {
  requirePermission(caller, 'OTA_CREATE');
  const values = parseInput(createUpgradeJobInput, input);
  const firmware = await lockFirmware(tx, caller, values.firmwareId);
  if (firmware.requireVerification && !firmware.verified) throw new FirmwareNotVerifiedError(firmware.name);
  const now = new Date();
  const startsLater = !!values.schedule?.startAt && values.schedule.startAt > now;
  const [job] = await tx
    .insert(otaJobs)
    .values({
      ouId: caller.ouId,
      productId: firmware.productId,
      firmwareId: firmware.id,
      type: 'UPGRADE',
      name: values.name,
      status: startsLater ? 'SCHEDULED' : 'RUNNING',
      startedAt: startsLater ? null : now,
      createdBy: caller.userId,
      ...settingsColumns({
        allDevices: values.scope.allDevices,
        deviceKeys: values.scope.deviceKeys,
        srcVersions: values.scope.srcVersions,
        tags: values.scope.tags,
        policy: values.policy,
        maxConcurrency: values.maxConcurrency,
        timeoutMinutes: values.timeoutMinutes,
        retry: values.retry,
        schedule: values.schedule
          ? {
              startAt: values.schedule.startAt ?? null,
              endAt: values.schedule.endAt ?? null,
              dailyWindowStart: values.schedule.dailyWindowStart ?? null,
              dailyWindowEnd: values.schedule.dailyWindowEnd ?? null,
              timezone: values.schedule.timezone,
            }
          : null,
        pushRatePerMinute: values.pushRatePerMinute ?? null,
        abortThreshold: values.abortThreshold ?? null,
      }),
    })
    .returning();
  await materialiseTargets(tx, job.id);
  jobEvents(job, 'created').forEach(emit);
  return job;
}
