/**
 * job.progress, coalesced: at most one event per job per WEBHOOK_PROGRESS_INTERVAL_MS, and only
 * when the job's counts changed since the last one. A progress event is a snapshot, not a change
 * of its own: it is queued by this pass, not by the writes (which then cost the ingestion path
 * nothing), in its own transaction that first takes the job's change-order lock — so its counts
 * include every task event queued before it, and it is delivered after them.
 *
 * Every pass, per instance: the jobs with an endpoint subscribed to job.progress whose counts
 * differ from their mark (webhook_progress_marks) and whose mark is older than the interval. Each
 * job then in a transaction of its own (pg_try_advisory_xact_lock per job: two instances never
 * queue the same job's event twice). The mark is in the database, so a restart neither repeats
 * nor forgets a job's last progress.
 */
import { sql } from 'drizzle-orm';
import type { ServerConfig } from '../config.js';
import type { Database } from '../db/client.js';
import { queryRows } from '../db/sql.js';
import { inTransaction } from '../domain/transaction.js';
import { jobStatusCounts, lockJobsForEvents, queueJobProgress } from '../domain/webhooks/outbox.js';
import type { EventBus } from '../events/bus.js';

const fingerprintOf = (counts: Record<string, number>) => ['toBePushed', 'pushed', 'inProgress', 'succeeded', 'failed'].map((k) => counts[k] ?? 0).join('/');

export interface ProgressEmitter {
  /** One pass now (tests); resolves with the number of jobs that got an event. */
  pass(): Promise<number>;
  start(): void;
  close(): Promise<void>;
}

export function createProgressEmitter(deps: {
  db: Database;
  events: EventBus;
  config: ServerConfig;
  log: (level: 'error', message: string) => void;
}): ProgressEmitter {
  const { db, config } = deps;
  const intervalMs = Math.max(100, config.webhookProgressIntervalMs);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | null = null;
  let lastErrorLog = 0;

  async function emitFor(jobId: string): Promise<boolean> {
    return inTransaction(deps, async (scope) => {
      const [claimed] = await queryRows<{ ok: boolean }>(scope.tx, sql`select pg_try_advisory_xact_lock(727021, hashtext(${jobId})) as ok`);
      if (!claimed?.ok) return false;
      await lockJobsForEvents(scope.tx, [jobId]);
      const [mark] = await queryRows<{ fingerprint: string; recent: boolean }>(
        scope.tx,
        sql`select fingerprint, queued_at > now() - make_interval(secs => ${intervalMs / 1000}) as recent
            from webhook_progress_marks where job_id = ${jobId}`,
      );
      if (mark?.recent) return false;
      const counts = await jobStatusCounts(scope.tx, jobId);
      const fingerprint = fingerprintOf(counts);
      if (mark?.fingerprint === fingerprint) return false;
      await queueJobProgress(scope.tx, jobId, counts);
      await queryRows(
        scope.tx,
        sql`insert into webhook_progress_marks (job_id, fingerprint, queued_at) values (${jobId}, ${fingerprint}, now())
            on conflict (job_id) do update set fingerprint = excluded.fingerprint, queued_at = excluded.queued_at`,
      );
      return true;
    });
  }

  async function pass(): Promise<number> {
    // Jobs followed by a job.progress endpoint, unfinished or finished within a day, whose counts
    // differ from their last event's and whose last event is older than the interval.
    const jobs = await queryRows<{ id: string }>(
      db,
      sql`with followed as (
            select j.id from ota_jobs j
            where exists (select 1 from webhook_endpoints e
                          where e.ou_id = j.ou_id and 'job.progress' = any(e.event_types)
                            and (e.product_id is null or e.product_id = j.product_id) and (e.job_id is null or e.job_id = j.id))
              and (j.status in ('SCHEDULED', 'RUNNING', 'STOPPED') or j.updated_at > now() - interval '1 day')
          )
          select f.id from followed f
          left join webhook_progress_marks m on m.job_id = f.id
          where m.job_id is null
             or (m.queued_at <= now() - make_interval(secs => ${intervalMs / 1000})
                 and m.fingerprint <> (select concat_ws('/',
                       coalesce(sum(n) filter (where status = 'TO_BE_PUSHED'), 0), coalesce(sum(n) filter (where status = 'PUSHED'), 0),
                       coalesce(sum(n) filter (where status = 'IN_PROGRESS'), 0), coalesce(sum(n) filter (where status = 'SUCCEEDED'), 0),
                       coalesce(sum(n) filter (where status = 'FAILED'), 0))
                     from job_task_counts c where c.job_id = f.id))
          order by f.id`,
    );
    let emitted = 0;
    for (const job of jobs) if (await emitFor(job.id)) emitted++;
    return emitted;
  }

  const tick = () => {
    if (running) return;
    running = pass()
      .catch((error: Error) => {
        if (Date.now() - lastErrorLog > 10_000) {
          lastErrorLog = Date.now();
          deps.log('error', `webhooks: job.progress pass: ${error.message}`);
        }
        return 0;
      })
      .finally(() => {
        running = null;
      });
  };

  return {
    pass: () => pass(),
    start() {
      timer = setInterval(tick, intervalMs);
      timer.unref();
    },
    async close() {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
