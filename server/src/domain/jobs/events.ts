/** The domain events a change to a job causes, queued on its transaction. */
import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import type { DomainEvent } from '../../events/bus.js';
import { queryRows } from '../../db/sql.js';
import { currentRequestId } from '../../observability/context.js';

interface JobIdentity {
  id: string;
  ouId: string;
  productId: string;
  status?: string;
}

/** Reasons that are changes of the job's status (the others change its tasks or settings). */
const STATUS_CHANGES = new Set(['created', 'started', 'stopped', 'cancelled', 'finished', 'aborted', 'retried', 'started on schedule']);

/**
 * Every change to a job refreshes its own subscribers and its organisation unit's job list, and
 * wakes the rollout engine, which decides whether there is anything to push.
 */
export function jobEvents(job: JobIdentity, reason: string, tasksChanged?: { maxChangeSeq: number; count: number }): DomainEvent[] {
  const event = { jobId: job.id, ouId: job.ouId, productId: job.productId };
  const reqId = currentRequestId();
  const events: DomainEvent[] = [
    { topic: 'job:changed', args: [job.id, event] },
    { topic: 'ou:jobs', args: [job.ouId, event] },
    { topic: 'engine:kick', args: [{ reason: `job ${reason}`, ouId: job.ouId, jobId: job.id, ...(reqId ? { reqId } : {}) }] },
  ];
  if (STATUS_CHANGES.has(reason)) {
    events.push({ topic: 'job:status', args: [{ jobId: job.id, ouId: job.ouId, change: reason, status: job.status, ...(reqId ? { reqId } : {}) }] });
  }
  if (tasksChanged && tasksChanged.count > 0) {
    events.push({ topic: 'job:tasks', args: [job.id, { jobId: job.id, ouId: job.ouId, ...tasksChanged }] });
  }
  return events;
}

/**
 * The last task change sequence value this transaction drew: `currval` is per session, and a
 * transaction holds one session, so this is the highest value of the changes it made. Call it
 * only after changing at least one task.
 */
export async function lastChangeSeq(tx: Executor): Promise<number> {
  const [row] = await queryRows<{ seq: string | number }>(tx, sql`select currval('task_change_seq') as seq`);
  return Number(row.seq);
}
