/** Job controls: stop (nothing new is pushed), start (or resume), cancel (end it for good). */
import { eq, sql } from 'drizzle-orm';
import { otaJobs } from '../../db/schema.js';
import { type Caller, requirePermission } from '../caller.js';
import { countOf, recordAudit } from '../audit.js';
import { InvalidJobStateError } from '../errors.js';
import type { TransactionScope } from '../transaction.js';
import { lockJob } from './access.js';
import { cancelJobTasks } from './cancel-tasks.js';
import { queueJobStatusChanged } from '../webhooks/outbox.js';
import { jobEvents } from './events.js';
import type { JobRow } from './settings-view.js';
import { resumeFailedWave } from './waves.js';

function jobTarget(job: JobRow) {
  return { type: 'JOB' as const, id: job.id, name: job.name };
}

export async function stopJob({ tx, emit }: TransactionScope, caller: Caller, jobId: string): Promise<JobRow> {
  requirePermission(caller, 'OTA_CONTROL');
  const job = await lockJob(tx, caller, jobId);
  if (job.status !== 'RUNNING' && job.status !== 'SCHEDULED' && job.status !== 'WAITING_FOR_APPROVAL') throw new InvalidJobStateError('stop', job.status);
  const [stopped] = await tx.update(otaJobs).set({ status: 'STOPPED', statusReason: null, updatedAt: new Date() }).where(eq(otaJobs.id, job.id)).returning();
  jobEvents(stopped, 'stopped').forEach(emit);
  await queueJobStatusChanged(tx, job.id, { previousStatus: job.status, change: 'STOPPED' });
  await recordAudit(tx, caller, {
    action: 'JOB_STOPPED',
    target: jobTarget(job),
    summary: `Job "${job.name}" stopped`,
    details: { previousStatus: job.status },
  });
  return stopped;
}

/** Resumes a stopped job, or starts a scheduled one now instead of at its start time. */
export async function startJob({ tx, emit }: TransactionScope, caller: Caller, jobId: string): Promise<JobRow> {
  requirePermission(caller, 'OTA_CONTROL');
  const job = await lockJob(tx, caller, jobId);
  if (job.status !== 'STOPPED' && job.status !== 'SCHEDULED') throw new InvalidJobStateError('start', job.status);
  const now = new Date();
  await resumeFailedWave(tx, job, caller);
  const [started] = await tx
    .update(otaJobs)
    .set({ status: 'RUNNING', statusReason: null, startedAt: sql`coalesce(${otaJobs.startedAt}, now())`, updatedAt: now })
    .where(eq(otaJobs.id, job.id))
    .returning();
  jobEvents(started, 'started').forEach(emit);
  await queueJobStatusChanged(tx, job.id, { previousStatus: job.status, change: job.status === 'SCHEDULED' ? 'STARTED' : 'RESUMED' });
  await recordAudit(tx, caller, {
    action: 'JOB_STARTED',
    target: jobTarget(job),
    summary: `Job "${job.name}" ${job.status === 'SCHEDULED' ? 'started before its start time' : 'resumed'}`,
    details: { previousStatus: job.status },
  });
  return started;
}

/**
 * Cancels the whole job: every task To be Pushed or Pushed fails as CANCELLED_BY_USER (pushed
 * devices are sent a cancel); devices already In Progress finish and report as usual.
 */
export async function cancelJob(scope: TransactionScope, caller: Caller, jobId: string): Promise<JobRow> {
  requirePermission(caller, 'OTA_CONTROL');
  const { tx, emit } = scope;
  const job = await lockJob(tx, caller, jobId);
  if (job.status === 'FINISHED' || job.status === 'CANCELLED') throw new InvalidJobStateError('cancel', job.status);
  const now = new Date();
  const cancelled = await cancelJobTasks(scope, job, caller.displayName);
  const [updated] = await tx.update(otaJobs).set({ status: 'CANCELLED', finishedAt: now, updatedAt: now }).where(eq(otaJobs.id, job.id)).returning();
  jobEvents(updated, 'cancelled', cancelled.seq ? { maxChangeSeq: cancelled.seq, count: cancelled.count } : undefined).forEach(emit);
  await queueJobStatusChanged(scope.tx, job.id, { previousStatus: job.status, change: 'CANCELLED' });
  await recordAudit(tx, caller, {
    action: 'JOB_CANCELLED',
    target: jobTarget(job),
    summary: `Job "${job.name}" cancelled; ${countOf(cancelled.count, 'device')} cancelled`,
    details: { previousStatus: job.status, devicesCancelled: cancelled.count },
  });
  return updated;
}
