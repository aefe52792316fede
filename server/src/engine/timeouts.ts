/**
 * markTimedOutTasks: a task Pushed or In Progress past its timeout (counted from the push, kept in
 * timeout_at) fails with TIMEOUT, or goes back to To be Pushed under the job's retry policy. The
 * device is sent a cancel so that it stops an upgrade the console has given up on. Rows are taken
 * with SKIP LOCKED: instances share the work, and a task a report is just updating is left for
 * the next sweep (the report may well have finished it).
 */
import { sql } from 'drizzle-orm';
import type { DeviceCommands } from '../devices/commands.js';
import { queryRows } from '../db/sql.js';
import { jobEvents } from '../domain/jobs/events.js';
import { decide, JOB_CONTEXT_COLUMNS, type JobContextRow, jobContextOf, TASK_STATE_COLUMNS, type TaskStateRow } from '../domain/tasks/decide.js';
import { changesByJob, writeTaskChanges } from '../domain/tasks/write.js';
import { inTransaction } from '../domain/transaction.js';
import type { AppServices } from '../services.js';

const CHUNK = 1000;

interface TimedOut extends TaskStateRow, JobContextRow {
  ou_id: string;
  product_id: string;
  product_key: string;
  timeout_minutes: number;
  /** The database's clock, which timeout_at is on. */
  now: Date | string;
}

/** Returns how many tasks timed out. */
export async function markTimedOutTasks(services: AppServices, commands: DeviceCommands, minuteMs: number): Promise<number> {
  let total = 0;
  for (;;) {
    const cancels: { productKey: string; deviceKey: string; jobId: string }[] = [];
    const count = await inTransaction(services, async ({ tx, emit }) => {
      const rows = await queryRows<TimedOut>(
        tx,
        sql`select ${TASK_STATE_COLUMNS}, ${JOB_CONTEXT_COLUMNS}, j.ou_id, j.product_id, p.product_key, j.timeout_minutes, now() as now
            from job_tasks t join ota_jobs j on j.id = t.job_id join products p on p.id = j.product_id
            where t.status in ('PUSHED', 'IN_PROGRESS') and t.timeout_at <= now()
            order by t.timeout_at
            limit ${CHUNK}
            for update of t skip locked`,
      );
      if (rows.length === 0) return 0;
      const decided = decide(
        rows,
        (r) => ({ type: 'timeout', now: new Date(r.now), timeoutMinutes: r.timeout_minutes }),
        (r) => jobContextOf(r, minuteMs),
      );
      const written = await writeTaskChanges(tx, decided.changes);
      const jobs = new Map(rows.map((r) => [r.job_id, { id: r.job_id, ouId: r.ou_id, productId: r.product_id }]));
      for (const [jobId, changed] of changesByJob(written)) jobEvents(jobs.get(jobId)!, 'timed out', changed).forEach(emit);
      const writtenIds = new Set(written.map((w) => w.id));
      for (const r of decided.cancels) {
        if (writtenIds.has(Number(r.id))) cancels.push({ productKey: r.product_key, deviceKey: r.device_key, jobId: r.job_id });
      }
      return rows.length;
    });
    for (const c of cancels) commands.cancel(c.productKey, c.deviceKey, c.jobId);
    total += cancels.length;
    if (count < CHUNK) return total;
  }
}
