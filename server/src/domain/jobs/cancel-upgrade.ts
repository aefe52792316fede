/** cancelUpgrade(jobId, deviceKeys): cancels what may be cancelled and says why the rest was not. */
import { and, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import { jobTasks } from '../../db/schema.js';
import { type Caller, requirePermission } from '../caller.js';
import { InvalidJobStateError } from '../errors.js';
import { cancelRefusal, type NotCancelledReason } from '../tasks/rules.js';
import type { TransactionScope } from '../transaction.js';
import { parseInput } from '../validation.js';
import { lockJob } from './access.js';
import { cancelTasks } from './cancel-tasks.js';
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
  const cancelled = await cancelTasks(scope, job, values.deviceKeys, caller.displayName);
  const cancelledKeys = new Set(cancelled.tasks.map((t) => t.deviceKey));
  const rest = values.deviceKeys.filter((k) => !cancelledKeys.has(k));
  const statuses = rest.length
    ? await scope.tx
        .select({ deviceKey: jobTasks.deviceKey, status: jobTasks.status })
        .from(jobTasks)
        .where(and(eq(jobTasks.jobId, job.id), inArray(jobTasks.deviceKey, rest)))
    : [];
  const statusByKey = new Map(statuses.map((s) => [s.deviceKey, s.status]));
  const notCancelled = rest.map((key) => ({ deviceKey: key, ...cancelRefusal(statusByKey.get(key))! }));
  const current = cancelled.tasks.length > 0 ? await finishJobIfDone(scope.tx, job) : job;
  if (cancelled.tasks.length > 0) {
    jobEvents(current, 'tasks cancelled', { maxChangeSeq: cancelled.seq, count: cancelled.tasks.length }).forEach(scope.emit);
  }
  return { job: current, cancelledTaskIds: cancelled.tasks.map((t) => t.id), notCancelled };
}
