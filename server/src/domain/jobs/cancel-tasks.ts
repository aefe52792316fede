/**
 * Cancelling tasks (DESIGN §3 "Cancelling"). A task To be Pushed or Pushed becomes Upgrade Failed
 * with CANCELLED_BY_USER in one conditional UPDATE: its row lock orders it against a concurrent
 * device report, and whichever commits second finds the task no longer in the state it expects,
 * so the task ends in exactly one final state.
 */
import { sql } from 'drizzle-orm';
import type { TaskStatus } from '../../db/schema.js';
import { products } from '../../db/schema.js';
import { eq } from 'drizzle-orm';
import { queryRows } from '../sql.js';
import type { TransactionScope } from '../transaction.js';
import { lastChangeSeq } from './events.js';
import type { JobRow } from './settings-view.js';

export interface CancelledTask {
  id: number;
  deviceKey: string;
  previousStatus: TaskStatus;
}

/** Cancels the job's cancellable tasks among `deviceKeys` (null: all of them). */
export async function cancelTasks(
  { tx, emit }: TransactionScope,
  job: JobRow,
  deviceKeys: string[] | null,
  cancelledBy: string,
): Promise<{ tasks: CancelledTask[]; seq: number }> {
  const keyFilter = deviceKeys ? sql`and device_key in (select jsonb_array_elements_text(${JSON.stringify(deviceKeys)}::jsonb))` : sql``;
  const tasks = await queryRows<{ id: number | string; device_key: string; previous_status: TaskStatus }>(
    tx,
    sql`with target as (
          select id, status from job_tasks
          where job_id = ${job.id} and status in ('TO_BE_PUSHED', 'PUSHED') ${keyFilter}
          order by id
          for update)
        update job_tasks t
        set status = 'FAILED', failure_reason = 'CANCELLED_BY_USER',
            failure_detail = ${`Cancelled by ${cancelledBy}`}, waiting_reason = null,
            failed_at = now(), finished_at = now(), timeout_at = null, next_attempt_at = null,
            updated_at = now(), change_seq = nextval('task_change_seq')
        from target where t.id = target.id
        returning t.id, t.device_key, target.status as previous_status`,
  );
  const result = tasks.map((t) => ({ id: Number(t.id), deviceKey: t.device_key, previousStatus: t.previous_status }));
  const pushed = result.filter((t) => t.previousStatus === 'PUSHED').map((t) => t.deviceKey);
  if (pushed.length > 0) {
    const [product] = await tx.select({ productKey: products.productKey }).from(products).where(eq(products.id, job.productId));
    emit({ topic: 'device:cancel', args: [{ ouId: job.ouId, jobId: job.id, productKey: product.productKey, deviceKeys: pushed }] });
  }
  return { tasks: result, seq: result.length > 0 ? await lastChangeSeq(tx) : 0 };
}
