/**
 * Cancelling tasks (DESIGN §3 "Cancelling"). A task To be Pushed or Pushed becomes Upgrade Failed
 * with CANCELLED_BY_USER: the tasks are locked (in id order, as report batches lock them), run
 * through the state machine and written conditionally on the status they were read in, so a device
 * report arriving at the same moment and the cancel end in exactly one final state.
 */
import { eq, sql } from 'drizzle-orm';
import type { TaskStatus } from '../../db/schema.js';
import { products } from '../../db/schema.js';
import { queryRows } from '../../db/sql.js';
import { decide, jobContextOfJob, TASK_STATE_COLUMNS, type TaskStateRow } from '../tasks/decide.js';
import type { TaskRefusal } from '../tasks/transitions.js';
import { changesByJob, writeTaskChanges } from '../tasks/write.js';
import type { TransactionScope } from '../transaction.js';
import type { JobRow } from './settings-view.js';

export interface CancelledTask {
  id: number;
  deviceKey: string;
  previousStatus: TaskStatus;
}

/** A cancel is final (CANCELLED_BY_USER is never retried): no duration of the job plays a part. */
const NO_MINUTE = 0;

/**
 * Cancels the job's cancellable tasks among `deviceKeys` (null: the whole job is cancelled, and
 * its devices In Progress carry on).
 */
export async function cancelTasks(
  { tx, emit }: TransactionScope,
  job: JobRow,
  deviceKeys: string[] | null,
  cancelledBy: string,
): Promise<{ tasks: CancelledTask[]; seq: number; refused: { deviceKey: string; refusal: TaskRefusal }[] }> {
  const keyFilter = deviceKeys ? sql`and t.device_key in (select jsonb_array_elements_text(${JSON.stringify(deviceKeys)}::jsonb))` : sql``;
  const rows = await queryRows<TaskStateRow>(
    tx,
    sql`select ${TASK_STATE_COLUMNS} from job_tasks t
        where t.job_id = ${job.id} ${deviceKeys ? keyFilter : sql`and t.status in ('TO_BE_PUSHED', 'PUSHED')`}
        order by t.id
        for update`,
  );
  const decided = decide(
    rows,
    () => (deviceKeys ? { type: 'cancel', by: cancelledBy } : { type: 'jobCancelled', by: cancelledBy }),
    () => jobContextOfJob(job, NO_MINUTE),
  );
  const written = await writeTaskChanges(tx, decided.changes);
  const from = new Map(decided.changes.map((c) => [c.id, c.from]));
  const tasks = written.map((w) => ({ id: w.id, deviceKey: w.deviceKey, previousStatus: from.get(w.id)! }));
  const writtenIds = new Set(written.map((w) => w.id));
  const pushed = decided.cancels.filter((r) => writtenIds.has(Number(r.id))).map((r) => r.device_key);
  if (pushed.length > 0) {
    const [product] = await tx.select({ productKey: products.productKey }).from(products).where(eq(products.id, job.productId));
    emit({ topic: 'device:cancel', args: [{ ouId: job.ouId, jobId: job.id, productKey: product.productKey, deviceKeys: pushed }] });
  }
  const refused = decided.refused.map(({ row, refusal }) => ({ deviceKey: row.device_key, refusal }));
  return { tasks, seq: changesByJob(written).get(job.id)?.maxChangeSeq ?? 0, refused };
}
