/**
 * Why each To be Pushed task of a running job waits (DESIGN §3), written only where it changed so
 * that a quiet job costs no writes. In order of precedence: its retry interval, the job's window,
 * its device being offline, then whatever held the job's last push back (concurrency, rate).
 * SCHEDULED and JOB_STOPPED are not written: they follow from the job's status
 * (domain/tasks/rules.ts effectiveWaitingReason). Rows another transaction holds are skipped and
 * looked at next time.
 */
import { sql } from 'drizzle-orm';
import type { WaitingReason } from '../db/schema.js';
import { queryRows } from '../db/sql.js';
import { jobEvents } from '../domain/jobs/events.js';
import { decide, JOB_CONTEXT_COLUMNS, type JobContextRow, jobContextOf, TASK_STATE_COLUMNS, type TaskStateRow } from '../domain/tasks/decide.js';
import { changesByJob, writeTaskChanges } from '../domain/tasks/write.js';
import { inTransaction } from '../domain/transaction.js';
import type { AppServices } from '../services.js';

interface Waiting extends TaskStateRow, JobContextRow {
  reason: WaitingReason | null;
  ou_id: string;
  product_id: string;
}

export async function refreshWaitingReasons(services: AppServices, jobId: string, jobLimit: WaitingReason | null): Promise<number> {
  return inTransaction(services, async ({ tx, emit }) => {
    const rows = await queryRows<Waiting>(
      tx,
      sql`select ${TASK_STATE_COLUMNS}, ${JOB_CONTEXT_COLUMNS}, c.reason, j.ou_id, j.product_id
          from (select t.id,
                       (case when t.wave_index > (select coalesce(active_wave, -1) from ota_jobs where id = ${jobId}) then 'WAVE_NOT_STARTED'
                             when t.next_attempt_at > now() then 'RETRY_INTERVAL'
                             when ${jobLimit}::text = 'OUTSIDE_WINDOW' then 'OUTSIDE_WINDOW'
                             when d.id is not null and not d.online then 'OFFLINE'
                             else ${jobLimit}::text end)::waiting_reason as reason
                from job_tasks t left join devices d on d.id = t.device_id
                where t.job_id = ${jobId} and t.status = 'TO_BE_PUSHED') c
          join job_tasks t on t.id = c.id join ota_jobs j on j.id = t.job_id
          where t.waiting_reason is distinct from c.reason
          for update of t skip locked`,
    );
    if (rows.length === 0) return 0;
    const { changes } = decide(
      rows,
      (r) => ({ type: 'waitingRefresh', reason: r.reason }),
      (r) => jobContextOf(r, services.config.engineMinuteMs),
    );
    const written = await writeTaskChanges(tx, changes);
    const changed = changesByJob(written).get(jobId);
    if (changed) {
      // Only the tabs' subscribers need to know; no engine kick (this is the engine's own bookkeeping).
      jobEvents({ id: jobId, ouId: rows[0].ou_id, productId: rows[0].product_id }, 'waiting reasons', changed)
        .filter((e) => e.topic === 'job:tasks')
        .forEach(emit);
    }
    return written.length;
  });
}
