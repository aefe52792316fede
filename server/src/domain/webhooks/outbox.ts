/**
 * The webhook outbox: events written in the transaction of the change they describe, so that a
 * rolled-back change delivers nothing and a committed one is never lost (the dispatcher,
 * webhooks/dispatcher.ts, sends what committed, also after a crash).
 *
 * Each write is one INSERT … SELECT that reads the facts from the rows the transaction has just
 * changed and joins the unit's endpoints: an event is stored only when an endpoint of its unit
 * subscribes to its type (enabled or not, so that a disabled endpoint can replay it later), and a
 * delivery is queued per enabled endpoint whose filters match. With no endpoint subscribed the
 * statement stores nothing.
 *
 * Order per job: the writer holds the job's change-order lock (727002, the one the task trigger
 * takes, see drizzle/*task_change_order) when it draws the event ids, so a job's events are
 * numbered in commit order and the dispatcher delivers them in that order.
 */
import { type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { queryRows } from '../sql.js';
import type { TransactionScope } from '../transaction.js';
import type { JobStatusChange } from './event-types.js';

/** An endpoint `e` matches facts `f` (ou_id, type, job_id, product_id). */
const matches = (e: string, f: string) =>
  sql.raw(
    `${e}.ou_id = ${f}.ou_id and ${f}.type = any(${e}.event_types) and (${e}.product_id is null or ${e}.product_id = ${f}.product_id) and (${e}.job_id is null or ${e}.job_id = ${f}.job_id)`,
  );

/**
 * Stores the events `facts` selects (columns ou_id, type, job_id, product_id, data, ord) and queues
 * their deliveries; returns how many deliveries were queued.
 */
async function insertEvents(tx: Executor, facts: SQL): Promise<number> {
  const rows = await queryRows<{ n: number | string }>(
    tx,
    sql`with facts as (${facts}),
        ev as (
          insert into webhook_events (ou_id, type, job_id, product_id, data)
          select f.ou_id, f.type, f.job_id, f.product_id, f.data from facts f
          where exists (select 1 from webhook_endpoints e where ${matches('e', 'f')})
          order by f.ord
          returning id, ou_id, type, job_id, product_id),
        queued as (
          insert into webhook_deliveries (ou_id, endpoint_id, event_id, lane)
          select ev.ou_id, e.id, ev.id, coalesce(ev.job_id::text, '')
          from ev join webhook_endpoints e on e.enabled and ${matches('e', 'ev')}
          order by ev.id, e.id
          returning 1)
        select count(*) as n from queued`,
  );
  return Number(rows[0]?.n ?? 0);
}

/** Takes the change-order locks of these jobs (in one order, so two writers cannot deadlock on them). */
export async function lockJobsForEvents(tx: Executor, jobIds: readonly string[]): Promise<void> {
  const distinct = [...new Set(jobIds)].sort();
  if (distinct.length === 0) return;
  await queryRows(
    tx,
    sql`select pg_advisory_xact_lock(727002, hashtext(j.id)) from (select x.id from jsonb_array_elements_text(${JSON.stringify(distinct)}::jsonb) as x(id) order by 1) j`,
  );
}

/**
 * Where an outbox write happens: the transaction, and its `emit` when the caller has one (it wakes
 * this instance's dispatcher after the commit; without it the dispatcher's poll finds the deliveries).
 */
export interface OutboxScope {
  tx: Executor;
  emit?: TransactionScope['emit'];
}

function wake(scope: OutboxScope, queued: number): void {
  if (queued > 0) scope.emit?.({ topic: 'webhooks:queued', args: [{ deliveries: queued }] });
}

/** The job's facts (JobFacts of event-types.ts) as a jsonb expression over `j`, `p`, `f`. */
const JOB_FACTS = sql.raw(
  `jsonb_build_object('jobId', j.id, 'name', j.name, 'jobType', j.type, 'status', j.status, 'productId', j.product_id,
     'productKey', p.product_key, 'firmwareId', j.firmware_id, 'firmwareVersion', f.version, 'firmwareName', f.name)`,
);

type JobEventType = 'job.created' | 'job.status_changed' | 'firmware.verified';

/** Queues an event about a job, with the job as the transaction now sees it plus `extra` facts. */
export async function queueJobEvent(scope: OutboxScope, type: JobEventType, jobId: string, extra: Record<string, unknown> = {}): Promise<void> {
  await lockJobsForEvents(scope.tx, [jobId]);
  const queued = await insertEvents(
    scope.tx,
    sql`select j.ou_id, ${type}::text as type, j.id as job_id, j.product_id, ${JOB_FACTS} || ${JSON.stringify(extra)}::jsonb as data, 0 as ord
        from ota_jobs j join products p on p.id = j.product_id join firmwares f on f.id = j.firmware_id
        where j.id = ${jobId}`,
  );
  wake(scope, queued);
}

/** job.status_changed: `previousStatus` is the status before this transaction changed it. */
export function queueJobStatusChanged(
  scope: OutboxScope,
  jobId: string,
  change: { previousStatus: string; change: JobStatusChange; reason?: string | null },
): Promise<void> {
  return queueJobEvent(scope, 'job.status_changed', jobId, { previousStatus: change.previousStatus, change: change.change, reason: change.reason ?? null });
}

/**
 * task.succeeded / task.failed for tasks this transaction has just made final (the caller passes
 * the ids of its Upgrade Successful and Upgrade Failed writes; the events read the rows as written).
 * The task writes took their jobs' change-order locks already.
 */
export async function queueTaskEvents(scope: OutboxScope, finalTaskIds: readonly number[]): Promise<void> {
  if (finalTaskIds.length === 0) return;
  const queued = await insertEvents(
    scope.tx,
    sql`select t.ou_id, case t.status when 'SUCCEEDED' then 'task.succeeded' else 'task.failed' end as type, t.job_id, j.product_id,
               ${JOB_FACTS} || jsonb_build_object('taskId', t.id, 'deviceKey', t.device_key, 'deviceId', t.device_id, 'attempt', t.attempt,
                 'currentVersion', t.current_version, 'failureReason', t.failure_reason, 'failureDetail', t.failure_detail,
                 'finishedAt', coalesce(t.finished_at, t.failed_at, t.updated_at)) as data,
               t.change_seq as ord
        from job_tasks t join ota_jobs j on j.id = t.job_id join products p on p.id = j.product_id join firmwares f on f.id = j.firmware_id
        where t.id in (select x::bigint from jsonb_array_elements_text(${JSON.stringify(finalTaskIds)}::jsonb) as x)
          and t.status in ('SUCCEEDED', 'FAILED')
          and exists (select 1 from webhook_endpoints e where e.ou_id = t.ou_id)`,
  );
  wake(scope, queued);
}

/** A job's task counts by status, as job_task_counts holds them in this transaction. */
export async function jobStatusCounts(tx: Executor, jobId: string): Promise<Record<string, number>> {
  const [row] = await queryRows<{ counts: Record<string, number | string> }>(
    tx,
    sql`select jsonb_build_object(
          'toBePushed', coalesce(sum(n) filter (where status = 'TO_BE_PUSHED'), 0),
          'pushed', coalesce(sum(n) filter (where status = 'PUSHED'), 0),
          'inProgress', coalesce(sum(n) filter (where status = 'IN_PROGRESS'), 0),
          'succeeded', coalesce(sum(n) filter (where status = 'SUCCEEDED'), 0),
          'failed', coalesce(sum(n) filter (where status = 'FAILED'), 0)) as counts
        from job_task_counts where job_id = ${jobId}`,
  );
  return Object.fromEntries(Object.entries(row?.counts ?? {}).map(([k, v]) => [k, Number(v)]));
}

/**
 * job.progress of a job with these counts (webhooks/progress.ts decides when, and reads the counts
 * after lockJobsForEvents, so that they include every task event numbered before this one).
 */
export async function queueJobProgress(scope: OutboxScope, jobId: string, counts: Record<string, number>): Promise<number> {
  const queued = await insertEvents(
    scope.tx,
    sql`select j.ou_id, 'job.progress'::text as type, j.id as job_id, j.product_id,
               ${JOB_FACTS} || jsonb_build_object('counts', ${JSON.stringify(counts)}::jsonb) as data, 0 as ord
        from ota_jobs j join products p on p.id = j.product_id join firmwares f on f.id = j.firmware_id
        where j.id = ${jobId}`,
  );
  wake(scope, queued);
  return queued;
}
