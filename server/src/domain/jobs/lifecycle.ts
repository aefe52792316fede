/**
 * When a job is done. Shared by the domain functions (a cancel can end the last task) and the
 * rollout engine (a device report can).
 *
 * - A SNAPSHOT upgrade job or a verification job that is running or stopped becomes FINISHED once
 *   every task is final. An INCREMENTAL job keeps waiting for devices that come to match, until
 *   its schedule ends.
 * - A verification job that finishes verifies its firmware when enough devices succeeded
 *   (the firmware's minSuccessForVerified, or all of them).
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { firmwares, otaJobs } from '../../db/schema.js';
import { countOf, recordAuditAs } from '../audit.js';
import { loadStatusCounts } from '../loaders.js';
import { queueJobEvent, queueJobStatusChanged } from '../webhooks/outbox.js';
import { isExecuting, totalTasks, type StatusCounts } from '../tasks/rules.js';
import type { JobRow } from './settings-view.js';

export function shouldFinish(job: Pick<JobRow, 'status' | 'policy' | 'type' | 'scheduleEndAt'>, counts: StatusCounts, now: Date): boolean {
  if (job.status !== 'RUNNING' && job.status !== 'STOPPED' && job.status !== 'WAITING_FOR_APPROVAL') return false;
  if (isExecuting(counts)) return false;
  if (job.type === 'UPGRADE' && job.policy === 'INCREMENTAL') return !!job.scheduleEndAt && job.scheduleEndAt <= now;
  return true;
}

export function verificationSucceeded(counts: StatusCounts, minSuccessForVerified: number | null): boolean {
  const needed = minSuccessForVerified ?? totalTasks(counts);
  return needed > 0 && counts.succeeded >= Math.min(needed, totalTasks(counts));
}

/** Marks the job FINISHED if it is done (and verifies its firmware). Returns the job as it now is. */
export async function finishJobIfDone(tx: Executor, job: JobRow, now = new Date()): Promise<JobRow> {
  const counts = (await loadStatusCounts(tx, [job.id])).get(job.id)!;
  if (!shouldFinish(job, counts, now)) return job;
  const [finished] = await tx
    .update(otaJobs)
    .set({ status: 'FINISHED', finishedAt: now, updatedAt: now })
    .where(and(eq(otaJobs.id, job.id), sql`${otaJobs.status} in ('RUNNING', 'STOPPED', 'WAITING_FOR_APPROVAL')`))
    .returning();
  if (!finished) return job;
  await queueJobStatusChanged(tx, job.id, { previousStatus: job.status, change: 'FINISHED' });
  if (job.type === 'VERIFICATION') {
    const [firmware] = await tx.select({ minSuccessForVerified: firmwares.minSuccessForVerified }).from(firmwares).where(eq(firmwares.id, job.firmwareId));
    if (verificationSucceeded(counts, firmware.minSuccessForVerified)) {
      const verified = await tx
        .update(firmwares)
        .set({ verified: true, verifiedAt: now })
        .where(and(eq(firmwares.id, job.firmwareId), eq(firmwares.verified, false)))
        .returning({ id: firmwares.id, name: firmwares.name, version: firmwares.version });
      if (verified.length > 0) {
        await queueJobEvent(tx, 'firmware.verified', job.id);
        const [firmwareRow] = verified;
        // The system verifies, when the job's devices succeed; the job (and its creator) say whose test it was.
        await recordAuditAs(
          tx,
          { ouId: job.ouId, actorId: null, actorName: 'Updraft' },
          {
            action: 'FIRMWARE_VERIFIED',
            target: { type: 'FIRMWARE', id: firmwareRow.id, name: `${firmwareRow.name} ${firmwareRow.version}` },
            summary: `Firmware ${firmwareRow.name} ${firmwareRow.version} verified by job "${job.name}" (${countOf(counts.succeeded, 'device')} succeeded)`,
            details: { jobId: job.id, jobName: job.name, succeeded: counts.succeeded },
          },
        );
      }
    }
  }
  return finished;
}
