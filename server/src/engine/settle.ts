/**
 * After tasks end: a job whose tasks are all final becomes FINISHED (domain/jobs/lifecycle.ts,
 * which also verifies the firmware of a successful verification job), and a running job whose
 * failure share crossed its abort threshold is stopped.
 *
 * Abort threshold: failed / finished × 100 > percent, once at least minFinished tasks are final.
 * Failures by cancellation (CANCELLED_BY_USER) count in neither: an operator's cancel says
 * nothing about the firmware. A job stopped this way says so in its statusReason; starting it
 * again re-evaluates the threshold, so raise it (editJob) before resuming.
 */
import { and, count, eq, ne, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { jobTasks, otaJobs } from '../db/schema.js';
import { jobEvents } from '../domain/jobs/events.js';
import { finishJobIfDone } from '../domain/jobs/lifecycle.js';
import { inTransaction } from '../domain/transaction.js';
import { advanceLockedRollout } from './waves.js';
import { queueJobStatusChanged } from '../domain/webhooks/outbox.js';
import type { AppServices } from '../services.js';

export function abortThresholdCrossed(
  job: { abortThresholdPercent: number | null; abortMinFinished: number | null },
  counted: { succeeded: number; failed: number },
): boolean {
  if (job.abortThresholdPercent === null) return false;
  const finished = counted.succeeded + counted.failed;
  if (finished === 0 || finished < (job.abortMinFinished ?? 1)) return false;
  return (counted.failed / finished) * 100 > job.abortThresholdPercent;
}

/** Succeeded and failed tasks of the job, failures by cancellation left out (they say nothing of the firmware). */
export async function abortCounts(tx: Executor, jobId: string): Promise<{ succeeded: number; failed: number }> {
  const rows = await tx
    .select({ status: jobTasks.status, n: count() })
    .from(jobTasks)
    .where(
      and(eq(jobTasks.jobId, jobId), sql`${jobTasks.status} in ('SUCCEEDED', 'FAILED')`, sql`${jobTasks.failureReason} is distinct from 'CANCELLED_BY_USER'`),
    )
    .groupBy(jobTasks.status);
  return {
    succeeded: Number(rows.find((r) => r.status === 'SUCCEEDED')?.n ?? 0),
    failed: Number(rows.find((r) => r.status === 'FAILED')?.n ?? 0),
  };
}

/** Returns the job's status after settling, or null when the job is gone or busy (a concurrent edit). */
export async function settleJob(services: AppServices, jobId: string): Promise<string | null> {
  return inTransaction(services, async (scope) => {
    const { tx, emit } = scope;
    const [locked] = await tx.select().from(otaJobs).where(eq(otaJobs.id, jobId)).for('update', { skipLocked: true });
    if (!locked || (locked.status !== 'RUNNING' && locked.status !== 'STOPPED' && locked.status !== 'WAITING_FOR_APPROVAL')) return locked?.status ?? null;
    // A rollout plan's waves first (its last wave passes before the job finishes): the active wave's
    // error threshold, or its success threshold moving it on.
    const { job } = await advanceLockedRollout(scope, locked, services.config.engineMinuteMs);
    const finished = await finishJobIfDone(tx, job);
    if (finished.status !== job.status) {
      jobEvents(finished, 'finished').forEach(emit);
      return finished.status;
    }
    if (job.status !== 'RUNNING' || job.abortThresholdPercent === null) return job.status;
    const counted = await abortCounts(tx, jobId);
    if (!abortThresholdCrossed(job, counted)) return job.status;
    const finishedCount = counted.succeeded + counted.failed;
    const percent = Math.round((counted.failed / finishedCount) * 1000) / 10;
    const [stopped] = await tx
      .update(otaJobs)
      .set({
        status: 'STOPPED',
        statusReason: `Aborted by the rollout engine: ${counted.failed} of ${finishedCount} finished devices failed (${percent}%), above the abort threshold of ${job.abortThresholdPercent}%`,
        updatedAt: new Date(),
      })
      .where(and(eq(otaJobs.id, jobId), eq(otaJobs.status, 'RUNNING'), ne(otaJobs.type, 'VERIFICATION')))
      .returning();
    if (!stopped) return job.status;
    jobEvents(stopped, 'aborted').forEach(emit);
    await queueJobStatusChanged(tx, jobId, { previousStatus: 'RUNNING', change: 'ABORTED', reason: stopped.statusReason });
    return stopped.status;
  });
}
