/** cancelUpgrade(jobId, deviceKeys): cancels what may be cancelled and says why the rest was not. */
import { z } from 'zod';
import { auditedKeys, countOf, recordAudit } from '../audit.js';
import { type Caller, requirePermission } from '../caller.js';
import { InvalidJobStateError } from '../errors.js';
import { NOT_IN_JOB, type NotCancelledReason } from '../tasks/transitions.js';
import type { TransactionScope } from '../transaction.js';
import { parseInput } from '../validation.js';
import { lockJob } from './access.js';
import { cancelDeviceTasks } from './cancel-tasks.js';
import { jobEvents } from './events.js';
import { finishJobIfDone } from './lifecycle.js';
import { deviceKey } from './settings.js';
import type { JobRow } from './settings-view.js';

export const MAX_CANCEL_KEYS = 10_000;

const cancelUpgradeInput = z.object({
  jobId: z.string(),
  deviceKeys: z
    .array(deviceKey)
    .min(1, 'must list at least one device')
    .max(MAX_CANCEL_KEYS, `must list at most ${MAX_CANCEL_KEYS} devices`)
    .transform((keys) => [...new Set(keys)]),
});
export type CancelUpgradeInput = z.input<typeof cancelUpgradeInput>;

export interface NotCancelled {
  deviceKey: string;
  reason: NotCancelledReason;
  message: string;
}

export interface CancelUpgradeResult {
  job: JobRow;
  cancelledTaskIds: number[];
  notCancelled: NotCancelled[];
}

export async function cancelUpgrade(scope: TransactionScope, caller: Caller, input: CancelUpgradeInput): Promise<CancelUpgradeResult> {
  requirePermission(caller, 'OTA_CONTROL');
  const values = parseInput(cancelUpgradeInput, input);
  const job = await lockJob(scope.tx, caller, values.jobId);
  if (job.status === 'CANCELLED') throw new InvalidJobStateError('cancel upgrades of', job.status);
  const cancelled = await cancelDeviceTasks(scope, job, values.deviceKeys, caller.displayName);
  // In the order the keys were given.
  const cancelledKeys = new Set(cancelled.tasks.map((t) => t.deviceKey));
  const refused = new Map(cancelled.refused.map((r) => [r.deviceKey, r.refusal]));
  const notCancelled: NotCancelled[] = values.deviceKeys
    .filter((key) => !cancelledKeys.has(key))
    .map((deviceKey) => {
      const refusal = refused.get(deviceKey);
      return refusal ? { deviceKey, reason: refusal.code as NotCancelledReason, message: refusal.message } : { deviceKey, ...NOT_IN_JOB };
    });
  const current = cancelled.tasks.length > 0 ? await finishJobIfDone(scope.tx, job) : job;
  if (cancelled.tasks.length > 0) {
    jobEvents(current, 'tasks cancelled', { maxChangeSeq: cancelled.seq, count: cancelled.tasks.length }).forEach(scope.emit);
    await recordAudit(scope.tx, caller, {
      action: 'DEVICES_CANCELLED',
      target: { type: 'JOB', id: job.id, name: job.name },
      summary: `${countOf(cancelled.tasks.length, 'device')} cancelled${notCancelled.length ? `, ${countOf(notCancelled.length, 'device')} not` : ''}`,
      details: auditedKeys(
        cancelled.tasks.map((t) => t.deviceKey),
        notCancelled.length,
      ),
    });
  }
  return { job: current, cancelledTaskIds: cancelled.tasks.map((t) => t.id), notCancelled };
}
