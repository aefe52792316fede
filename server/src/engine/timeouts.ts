/**
 * markTimedOutTasks: a task Pushed or In Progress past its timeout (counted from the push, kept in
 * timeout_at) fails with TIMEOUT, or goes back to To be Pushed under the job's retry policy. The
 * device is sent a cancel so that it stops an upgrade the console has given up on. Rows are taken
 * with SKIP LOCKED: instances share the work, and a task a report is just updating is left for
 * the next sweep (the report may well have finished it).
 */
import { sql } from 'drizzle-orm';
import type { JobStatus, TaskStatus } from '../db/schema.js';
import type { DeviceCommands } from '../devices/commands.js';
import { jobEvents } from '../domain/jobs/events.js';
import { queryRows } from '../domain/sql.js';
import { inTransaction } from '../domain/transaction.js';
import type { AppServices } from '../services.js';
import { changesByJob, failureChange, writeTaskChanges } from './task-changes.js';

const CHUNK = 1000;

interface TimedOut {
  id: number | string;
  job_id: string;
  status: TaskStatus;
  attempt: number;
  device_key: string;
  ou_id: string;
  product_id: string;
  product_key: string;
  job_status: JobStatus;
  retry_count: number;
  retry_interval_minutes: number;
  timeout_minutes: number;
}

/** Returns how many tasks timed out. */
export async function markTimedOutTasks(services: AppServices, commands: DeviceCommands, minuteMs: number): Promise<number> {
  let total = 0;
  for (;;) {
    const cancels: { productKey: string; deviceKey: string; jobId: string }[] = [];
    const count = await inTransaction(services, async ({ tx, emit }) => {
      const rows = await queryRows<TimedOut>(
        tx,
        sql`select t.id, t.job_id, t.status, t.attempt, t.device_key, j.ou_id, j.product_id, p.product_key,
                   j.status as job_status, j.retry_count, j.retry_interval_minutes, j.timeout_minutes
            from job_tasks t join ota_jobs j on j.id = t.job_id join products p on p.id = j.product_id
            where t.status in ('PUSHED', 'IN_PROGRESS') and t.timeout_at <= now()
            order by t.timeout_at
            limit ${CHUNK}
            for update of t skip locked`,
      );
      if (rows.length === 0) return 0;
      const now = new Date();
      const changes = rows.map((r) =>
        failureChange(
          {
            id: Number(r.id),
            from: r.status,
            attempt: r.attempt,
            retryCount: r.retry_count,
            retryIntervalMinutes: r.retry_interval_minutes,
            jobStatus: r.job_status,
          },
          'TIMEOUT',
          `No result within the timeout of ${r.timeout_minutes} minutes (last state: ${r.status === 'PUSHED' ? 'Pushed' : 'In Progress'})`,
          now,
          minuteMs,
        ),
      );
      const written = await writeTaskChanges(tx, changes);
      const jobs = new Map(rows.map((r) => [r.job_id, { id: r.job_id, ouId: r.ou_id, productId: r.product_id }]));
      for (const [jobId, changed] of changesByJob(written)) jobEvents(jobs.get(jobId)!, 'timed out', changed).forEach(emit);
      const writtenIds = new Set(written.map((w) => w.id));
      for (const r of rows) if (writtenIds.has(Number(r.id))) cancels.push({ productKey: r.product_key, deviceKey: r.device_key, jobId: r.job_id });
      return rows.length;
    });
    for (const c of cancels) commands.cancel(c.productKey, c.deviceKey, c.jobId);
    total += cancels.length;
    if (count < CHUNK) return total;
  }
}
