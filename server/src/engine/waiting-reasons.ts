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
import { jobEvents } from '../domain/jobs/events.js';
import { queryRows } from '../domain/sql.js';
import { inTransaction } from '../domain/transaction.js';
import type { AppServices } from '../services.js';

export async function refreshWaitingReasons(services: AppServices, jobId: string, jobLimit: WaitingReason | null): Promise<number> {
  return inTransaction(services, async ({ tx, emit }) => {
    const changed = await queryRows<{ change_seq: number | string }>(
      tx,
      sql`with current as (
            select t.id, t.waiting_reason,
                   (case when t.next_attempt_at > now() then 'RETRY_INTERVAL'
                         when ${jobLimit}::text = 'OUTSIDE_WINDOW' then 'OUTSIDE_WINDOW'
                         when d.id is not null and not d.online then 'OFFLINE'
                         else ${jobLimit}::text end)::waiting_reason as reason
            from job_tasks t left join devices d on d.id = t.device_id
            where t.job_id = ${jobId} and t.status = 'TO_BE_PUSHED'),
          target as (
            select t.id, c.reason from job_tasks t join current c on c.id = t.id
            where t.waiting_reason is distinct from c.reason
            for update of t skip locked)
          update job_tasks t set waiting_reason = target.reason, updated_at = now(), change_seq = nextval('task_change_seq')
          from target where t.id = target.id and t.status = 'TO_BE_PUSHED'
          returning t.change_seq`,
    );
    if (changed.length > 0) {
      const [job] = await queryRows<{ id: string; ou_id: string; product_id: string }>(tx, sql`select id, ou_id, product_id from ota_jobs where id = ${jobId}`);
      const maxChangeSeq = Math.max(...changed.map((c) => Number(c.change_seq)));
      // Only the tabs' subscribers need to know; no engine kick (this is the engine's own bookkeeping).
      jobEvents({ id: job.id, ouId: job.ou_id, productId: job.product_id }, 'waiting reasons', { maxChangeSeq, count: changed.length })
        .filter((e) => e.topic === 'job:tasks')
        .forEach(emit);
    }
    return changed.length;
  });
}
