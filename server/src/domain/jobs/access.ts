/** Reading and locking one job of the caller's organisation unit. */
import { and, eq, inArray } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { jobTasks, otaJobs } from '../../db/schema.js';
import type { Caller } from '../caller.js';
import { NotFoundError } from '../errors.js';
import { UNFINISHED_STATUSES } from '../tasks/rules.js';
import type { JobRow } from './settings-view.js';

/** The job, locked for the rest of the transaction so that edits and controls serialise. */
export async function lockJob(tx: Executor, caller: Caller, jobId: string): Promise<JobRow> {
  const [job] = await tx
    .select()
    .from(otaJobs)
    .where(and(eq(otaJobs.id, jobId), eq(otaJobs.ouId, caller.ouId)))
    .for('update');
  if (!job) throw new NotFoundError('OtaJob', jobId);
  return job;
}

/** Whether any task of the job is not final yet ("the job is executing"). */
export async function hasUnfinishedTasks(db: Executor, jobId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: jobTasks.id })
    .from(jobTasks)
    .where(and(eq(jobTasks.jobId, jobId), inArray(jobTasks.status, [...UNFINISHED_STATUSES])))
    .limit(1);
  return !!row;
}
