/**
 * retryUpgrade: failed tasks start a new attempt (To be Pushed again, attempt + 1). The device is
 * looked up again by key, so a device registered after DEVICE_NOT_FOUND can now be reached.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { FAILURE_REASONS, jobTasks, otaJobs } from '../../db/schema.js';
import { type Caller, requirePermission } from '../caller.js';
import { InvalidJobStateError } from '../errors.js';
import { queryRows } from '../sql.js';
import { retryRefusal, type NotRetriedReason } from '../tasks/rules.js';
import type { TransactionScope } from '../transaction.js';
import { parseInput } from '../validation.js';
import { lockJob } from './access.js';
import { jobEvents, lastChangeSeq } from './events.js';
import { deviceKey } from './settings.js';
import type { JobRow } from './settings-view.js';

export const MAX_RETRY_KEYS = 10_000;

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
  const retried = await queryRows<{ id: number | string; device_key: string }>(
    tx,
    sql`update job_tasks t
        set status = 'TO_BE_PUSHED', attempt = t.attempt + 1, progress = 0,
            failure_reason = null, failure_detail = null, waiting_reason = null,
            pushed_at = null, started_at = null, finished_at = null, failed_at = null,
            timeout_at = null, next_attempt_at = null, push_message_id = null,
            device_id = (select d.id from devices d where d.product_id = ${job.productId} and d.device_key = t.device_key),
            updated_at = now(), change_seq = nextval('task_change_seq')
        where t.job_id = ${job.id} and t.status = 'FAILED' ${keyFilter} ${reasonFilter}
        returning t.id, t.device_key`,
  );
  const retriedKeys = new Set(retried.map((r) => r.device_key));
  const rest = (values.deviceKeys ?? []).filter((k) => !retriedKeys.has(k));
  const statuses = rest.length
    ? await tx
        .select({ deviceKey: jobTasks.deviceKey, status: jobTasks.status })
        .from(jobTasks)
        .where(and(eq(jobTasks.jobId, job.id), inArray(jobTasks.deviceKey, rest)))
    : [];
  const statusByKey = new Map(statuses.map((s) => [s.deviceKey, s.status]));
  const notRetried = rest.map((key) => {
    const refusal = retryRefusal(statusByKey.get(key)) ?? {
      reason: 'NOT_FAILED' as const,
      message: `Only upgrades failed${values.failureReason ? ` with ${values.failureReason}` : ''} were retried.`,
    };
    return { deviceKey: key, ...refusal };
  });
  let current = job;
  if (retried.length > 0 && job.status === 'FINISHED') {
    [current] = await tx.update(otaJobs).set({ status: 'RUNNING', finishedAt: null, updatedAt: new Date() }).where(eq(otaJobs.id, job.id)).returning();
  }
  if (retried.length > 0) {
    jobEvents(current, 'retried', { maxChangeSeq: await lastChangeSeq(tx), count: retried.length }).forEach(emit);
  }
  return { job: current, retriedTaskIds: retried.map((r) => Number(r.id)), notRetried };
}
