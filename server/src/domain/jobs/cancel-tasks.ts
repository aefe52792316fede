/**
 * Cancelling tasks (DESIGN §3 "Cancelling"). A task To be Pushed or Pushed becomes Upgrade Failed
 * with CANCELLED_BY_USER: the tasks are locked (in id order, as report batches lock them), their
 * change decided by the state machine and written conditionally on the status they were in, so a
 * device report arriving at the same moment and the cancel end in exactly one final state.
 */
import { eq, sql } from 'drizzle-orm';
import type { TaskStatus } from '../../db/schema.js';
import { products } from '../../db/schema.js';
import { queryRows } from '../../db/sql.js';
import { currentRequestId } from '../../observability/context.js';
import { decide, jobContextOfJob, TASK_STATE_COLUMNS, type TaskStateRow } from '../tasks/decide.js';
import { type TaskRefusal, type TaskUpdate, transitionsByStatus } from '../tasks/transitions.js';
import { changesByJob, writeJobTaskChanges, writeTaskChanges } from '../tasks/write.js';
import type { TransactionScope } from '../transaction.js';
import type { JobRow } from './settings-view.js';

export interface CancelledTask {
  id: number;
  deviceKey: string;
  previousStatus: TaskStatus;
}

/** A cancel is final (CANCELLED_BY_USER is never retried): no duration of the job plays a part. */
const NO_MINUTE = 0;

/** Tells the devices whose upgrade was pushed to stop it (after the commit: emit). */
async function sendCancels({ tx, emit }: TransactionScope, job: JobRow, deviceKeys: string[]): Promise<void> {
  if (deviceKeys.length === 0) return;
  const [product] = await tx.select({ productKey: products.productKey }).from(products).where(eq(products.id, job.productId));
  const reqId = currentRequestId();
  emit({ topic: 'device:cancel', args: [{ ouId: job.ouId, jobId: job.id, productKey: product.productKey, deviceKeys, ...(reqId ? { reqId } : {}) }] });
}

/** cancelUpgrade: the job's tasks of these devices, each locked and run through the state machine. */
export async function cancelDeviceTasks(
  scope: TransactionScope,
  job: JobRow,
  deviceKeys: string[],
  cancelledBy: string,
): Promise<{ tasks: CancelledTask[]; seq: number; refused: { deviceKey: string; refusal: TaskRefusal }[] }> {
  const rows = await queryRows<TaskStateRow>(
    scope.tx,
    sql`select ${TASK_STATE_COLUMNS} from job_tasks t
        where t.job_id = ${job.id} and t.device_key in (select jsonb_array_elements_text(${JSON.stringify(deviceKeys)}::jsonb))
        order by t.id
        for update`,
  );
  const decided = decide(
    rows,
    () => ({ type: 'cancel', by: cancelledBy }),
    () => jobContextOfJob(job, NO_MINUTE),
  );
  const written = await writeTaskChanges(scope.tx, decided.changes);
  const from = new Map(decided.changes.map((c) => [c.id, c.from]));
  const writtenIds = new Set(written.map((w) => w.id));
  await sendCancels(
    scope,
    job,
    decided.cancels.filter((r) => writtenIds.has(Number(r.id))).map((r) => r.device_key),
  );
  return {
    tasks: written.map((w) => ({ id: w.id, deviceKey: w.deviceKey, previousStatus: from.get(w.id)! })),
    seq: changesByJob(written).get(job.id)?.maxChangeSeq ?? 0,
    refused: decided.refused.map(({ row, refusal }) => ({ deviceKey: row.device_key, refusal })),
  };
}

/**
 * cancelJob: what the state machine decides for each status, written to every task of the job at
 * once (writeJobTaskChanges), however many there are; its devices In Progress carry on.
 */
export async function cancelJobTasks(scope: TransactionScope, job: JobRow, cancelledBy: string): Promise<{ count: number; seq: number }> {
  const decisions = transitionsByStatus({ type: 'jobCancelled', by: cancelledBy }, jobContextOfJob(job, NO_MINUTE));
  const updates: Partial<Record<TaskStatus, TaskUpdate>> = {};
  const tellDevices: TaskStatus[] = [];
  for (const status of Object.keys(decisions) as TaskStatus[]) {
    const decision = decisions[status];
    if (!('update' in decision) || !decision.update) continue;
    updates[status] = decision.update;
    if (decision.sendCancel) tellDevices.push(status);
  }
  const written = await writeJobTaskChanges(scope.tx, job.id, updates, tellDevices);
  await sendCancels(scope, job, written.deviceKeys);
  return { count: written.count, seq: written.maxChangeSeq };
}
