/**
 * Task changes in the order they happened (the task change sequence), for subscribers that catch
 * up after a reconnect. Each changed task appears once, in its latest state.
 */
import { and, asc, eq, gt, max, sql } from 'drizzle-orm';
import { preparedFor } from '../../db/prepared.js';
import type { Executor } from '../../db/client.js';
import { jobTaskRemovals, jobTasks } from '../../db/schema.js';
import type { Task } from './search.js';

export async function currentChangeSeq(db: Executor, jobId: string): Promise<number> {
  const [tasks] = await db
    .select({ seq: max(jobTasks.changeSeq) })
    .from(jobTasks)
    .where(eq(jobTasks.jobId, jobId));
  const [removals] = await db
    .select({ seq: max(jobTaskRemovals.changeSeq) })
    .from(jobTaskRemovals)
    .where(eq(jobTaskRemovals.jobId, jobId));
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

/**
 * Statements of the live readers, prepared once per database handle: a job's changes are read on
 * every wake-up of its reader (several times a second while devices report), and building a
 * drizzle query each time cost more than the database took to answer it.
 */
function changeStatements(db: Executor) {
  return preparedFor(db, 'task_changes_since', () => ({
    tasks: db
      .select()
      .from(jobTasks)
      .where(and(eq(jobTasks.jobId, sql.placeholder('jobId')), gt(jobTasks.changeSeq, sql.placeholder('cursor'))))
      .orderBy(asc(jobTasks.changeSeq))
      .limit(sql.placeholder('limit'))
      .prepare('task_changes_since'),
    removals: db
      .select({ deviceKey: jobTaskRemovals.deviceKey, changeSeq: jobTaskRemovals.changeSeq })
      .from(jobTaskRemovals)
      .where(and(eq(jobTaskRemovals.jobId, sql.placeholder('jobId')), gt(jobTaskRemovals.changeSeq, sql.placeholder('cursor'))))
      .orderBy(asc(jobTaskRemovals.changeSeq))
      .prepare('task_removals_since'),
  }));
}

export async function changesSince(db: Executor, jobId: string, cursor: number, limit: number): Promise<ChangeBatch> {
  const statements = changeStatements(db);
  const tasks = await statements.tasks.execute({ jobId, cursor, limit });
  // Removals up to the last task change read (or all, when the task page was not full). Read after
  // the tasks, never beside them: change_seq follows commit order within a job, so every removal
  // numbered below the last task read has committed before this read starts.
  const upTo = tasks.length === limit ? tasks[tasks.length - 1].changeSeq : Number.MAX_SAFE_INTEGER;
  const removals = await statements.removals.execute({ jobId, cursor });
  const inRange = removals.filter((r) => r.changeSeq <= upTo);
  const next = Math.max(cursor, ...tasks.map((t) => t.changeSeq), ...inRange.map((r) => r.changeSeq));
  return { tasks, removals: inRange, cursor: next };
}
