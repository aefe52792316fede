/**
 * Job-level moves the engine makes on its own: a SCHEDULED job starts at its start time, and a
 * running INCREMENTAL job takes in devices that have come to match its scope
 * (domain/jobs/scope.ts materialiseTargets, which is idempotent, so instances may race on it).
 */
import { and, eq, lte, sql } from 'drizzle-orm';
import { queryRows } from '../db/sql.js';
import type { JobRow } from '../domain/jobs/settings-view.js';
import { jobEvents } from '../domain/jobs/events.js';
import { materialiseTargets } from '../domain/jobs/scope.js';
import { inTransaction } from '../domain/transaction.js';
import { queueJobStatusChanged } from '../domain/webhooks/outbox.js';
import { otaJobs } from '../db/schema.js';
import type { AppServices } from '../services.js';

export async function startScheduledJobs(services: AppServices): Promise<JobRow[]> {
  return inTransaction(services, async ({ tx, emit }) => {
    const now = new Date();
    const started = await tx
      .update(otaJobs)
      .set({ status: 'RUNNING', startedAt: sql`coalesce(${otaJobs.startedAt}, now())`, updatedAt: now })
      .where(and(eq(otaJobs.status, 'SCHEDULED'), lte(otaJobs.scheduleStartAt, now)))
      .returning();
    for (const job of started) jobEvents(job, 'started on schedule').forEach(emit);
    // In id order: each event takes its job's change-order lock.
    for (const job of [...started].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      await queueJobStatusChanged(tx, job.id, { previousStatus: 'SCHEDULED', change: 'STARTED', reason: 'its schedule started' });
    }
    return started;
  });
}

/** Returns how many tasks were added across the running INCREMENTAL jobs. */
export async function takeInMatchingDevices(services: AppServices): Promise<number> {
  const jobs = await services.db
    .select({ id: otaJobs.id })
    .from(otaJobs)
    .where(and(eq(otaJobs.status, 'RUNNING'), eq(otaJobs.policy, 'INCREMENTAL')));
  let added = 0;
  for (const { id } of jobs) {
    added += await inTransaction(services, async ({ tx, emit }) => {
      const [job] = await tx
        .select()
        .from(otaJobs)
        .where(and(eq(otaJobs.id, id), eq(otaJobs.status, 'RUNNING')));
      if (!job) return 0;
      const result = await materialiseTargets(tx, id);
      const n = result.added + result.notFound;
      if (n > 0) {
        const [row] = await queryRows<{ seq: string | number }>(tx, sql`select max(change_seq) as seq from job_tasks where job_id = ${id}`);
        jobEvents(job, 'took in devices', { maxChangeSeq: Number(row.seq), count: n }).forEach(emit);
      }
      return n;
    });
  }
  return added;
}
