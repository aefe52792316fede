/**
 * Task changes in the order they happened (the task change sequence), for subscribers that catch
 * up after a reconnect. Each changed task appears once, in its latest state.
 */
import { and, asc, eq, gt, max } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { jobTaskRemovals, jobTasks } from '../../db/schema.js';
import type { Task } from './search.js';

export async function currentChangeSeq(db: Executor, jobId: string): Promise<number> {
  const [tasks] = await db.select({ seq: max(jobTasks.changeSeq) }).from(jobTasks).where(eq(jobTasks.jobId, jobId));
  const [removals] = await db.select({ seq: max(jobTaskRemovals.changeSeq) }).from(jobTaskRemovals).where(eq(jobTaskRemovals.jobId, jobId));
  return Math.max(Number(tasks?.seq ?? 0), Number(removals?.seq ?? 0));
}

export interface TaskRemoval {
  deviceKey: string;
  changeSeq: number;
}

export interface ChangeBatch {
  tasks: Task[];
  removals: TaskRemoval[];
  /** The highest sequence number covered; equal to the input cursor when nothing changed. */
  cursor: number;
}

export async function changesSince(db: Executor, jobId: string, cursor: number, limit: number): Promise<ChangeBatch> {
  const tasks = await db
    .select()
    .from(jobTasks)
    .where(and(eq(jobTasks.jobId, jobId), gt(jobTasks.changeSeq, cursor)))
    .orderBy(asc(jobTasks.changeSeq))
    .limit(limit);
  // Removals up to the last task change read (or all, when the task page was not full).
  const upTo = tasks.length === limit ? tasks[tasks.length - 1].changeSeq : Number.MAX_SAFE_INTEGER;
  const removals = await db
    .select({ deviceKey: jobTaskRemovals.deviceKey, changeSeq: jobTaskRemovals.changeSeq })
    .from(jobTaskRemovals)
    .where(and(eq(jobTaskRemovals.jobId, jobId), gt(jobTaskRemovals.changeSeq, cursor)))
    .orderBy(asc(jobTaskRemovals.changeSeq));
  const inRange = removals.filter((r) => r.changeSeq <= upTo);
  const next = Math.max(cursor, ...tasks.map((t) => t.changeSeq), ...inRange.map((r) => r.changeSeq));
  return { tasks, removals: inRange, cursor: next };
}
