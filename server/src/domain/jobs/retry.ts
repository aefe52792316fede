/**
 * retryUpgrade: failed tasks start a new attempt (To be Pushed again, attempt + 1). The device is
 * looked up again by key, so a device registered after DEVICE_NOT_FOUND can now be reached.
 */
import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { FAILURE_REASONS, otaJobs } from '../../db/schema.js';
import { FAILURE_REASON_LABELS } from '@updraft/labels';
import { auditedKeys, countOf, recordAudit } from '../audit.js';
import { type Caller, requirePermission } from '../caller.js';
import { InvalidJobStateError } from '../errors.js';
import { queryRows } from '../../db/sql.js';
import { decide, jobContextOfJob, TASK_STATE_COLUMNS, type TaskStateRow } from '../tasks/decide.js';
import { NOT_IN_JOB, type NotRetriedReason } from '../tasks/transitions.js';
import { changesByJob, writeTaskChanges } from '../tasks/write.js';
import type { TransactionScope } from '../transaction.js';
import { parseInput } from '../validation.js';
import { lockJob } from './access.js';
import { queueJobStatusChanged } from '../webhooks/outbox.js';
import { jobEvents } from './events.js';
import { deviceKey } from './settings.js';
import type { JobRow } from './settings-view.js';

export const MAX_RETRY_KEYS = 10_000;

/** A retry starts a new attempt at once: no duration of the job plays a part. */
const NO_MINUTE = 0;

const retryUpgradeInput = z.object({
  jobId: z.string(),
  /** Omitted: every failed task of the job (optionally only those failed for `failureReason`). */
  deviceKeys: z
    .array(deviceKey)
    .min(1)
    .max(MAX_RETRY_KEYS)
    .transform((keys) => [...new Set(keys)])
    .nullish(),
  failureReason: z.enum(FAILURE_REASONS).nullish(),
});
export type RetryUpgradeInput = z.input<typeof retryUpgradeInput>;

export interface NotRetried {
  deviceKey: string;
  reason: NotRetriedReason;
  message: string;
}

export interface RetryUpgradeResult {
  job: JobRow;
  retriedTaskIds: number[];
  notRetried: NotRetried[];
}

export async function retryUpgrade({ tx, emit }: TransactionScope, caller: Caller, input: RetryUpgradeInput): Promise<RetryUpgradeResult> {
  requirePermission(caller, 'OTA_CONTROL');
  const values = parseInput(retryUpgradeInput, input);
  const job = await lockJob(tx, caller, values.jobId);
  if (job.status === 'CANCELLED') throw new InvalidJobStateError('retry upgrades of', job.status);
  const keyFilter = values.deviceKeys ? sql`and t.device_key in (select jsonb_array_elements_text(${JSON.stringify(values.deviceKeys)}::jsonb))` : sql``;
  const reasonFilter = values.failureReason ? sql`and t.failure_reason = ${values.failureReason}` : sql``;
  // Named devices are all looked at (to say why one is not retried); otherwise the failed ones.
  const rows = await queryRows<TaskStateRow & { device_id_now: string | null }>(
    tx,
    sql`select ${TASK_STATE_COLUMNS}, (select d.id from devices d where d.product_id = ${job.productId} and d.device_key = t.device_key) as device_id_now
        from job_tasks t
        where t.job_id = ${job.id} ${values.deviceKeys ? keyFilter : sql`and t.status = 'FAILED' ${reasonFilter}`}
        order by t.id
        for update of t`,
  );
  // A failure of another reason than the one asked for is left alone (and said so below).
  const wanted = (r: TaskStateRow) => !values.failureReason || r.status !== 'FAILED' || r.failure_reason === values.failureReason;
  const decided = decide(
    rows.filter(wanted),
    (r) => ({ type: 'retry', deviceId: r.device_id_now }),
    () => jobContextOfJob(job, NO_MINUTE),
  );
  const retried = await writeTaskChanges(tx, decided.changes);
  const retriedKeys = new Set(retried.map((r) => r.deviceKey));
  const refused = new Map(decided.refused.map((r) => [r.row.device_key, r.refusal]));
  const inJob = new Set(rows.map((r) => r.device_key));
  const notRetried = (values.deviceKeys ?? [])
    .filter((key) => !retriedKeys.has(key))
    .map((deviceKey): NotRetried => {
      if (!inJob.has(deviceKey)) return { deviceKey, ...NOT_IN_JOB };
      const refusal = refused.get(deviceKey);
      if (refusal) return { deviceKey, reason: refusal.code as NotRetriedReason, message: refusal.message };
      return { deviceKey, reason: 'NOT_FAILED', message: `Only upgrades failed${values.failureReason ? ` with ${values.failureReason}` : ''} were retried.` };
    });
  let current = job;
  if (retried.length > 0 && job.status === 'FINISHED') {
    [current] = await tx.update(otaJobs).set({ status: 'RUNNING', finishedAt: null, updatedAt: new Date() }).where(eq(otaJobs.id, job.id)).returning();
    await queueJobStatusChanged(tx, job.id, { previousStatus: 'FINISHED', change: 'REOPENED', reason: 'failed devices were retried' });
  }
  if (retried.length > 0) {
    jobEvents(current, 'retried', changesByJob(retried).get(job.id)).forEach(emit);
    await recordAudit(tx, caller, {
      action: 'DEVICES_RETRIED',
      target: { type: 'JOB', id: job.id, name: job.name },
      summary: `${countOf(retried.length, 'device')} retried${values.failureReason ? ` (${FAILURE_REASON_LABELS[values.failureReason]})` : ''}${notRetried.length ? `, ${countOf(notRetried.length, 'device')} not` : ''}`,
      details: {
        ...auditedKeys(
          retried.map((r) => r.deviceKey),
          notRetried.length,
        ),
        failureReason: values.failureReason ?? null,
      },
    });
  }
  return { job: current, retriedTaskIds: retried.map((r) => r.id), notRetried };
}
