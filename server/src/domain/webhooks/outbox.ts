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
import { queryRows } from '../../db/sql.js';
import { emitOn } from '../transaction.js';
import type { JobStatusChange } from './event-types.js';

/** An endpoint `e` matches facts `f` (ou_id, type, job_id, product_id). */
const matches = (e: string, f: string) =>
  `${e}.ou_id = ${f}.ou_id and ${f}.type = any(${e}.event_types) and (${e}.product_id is null or ${e}.product_id = ${f}.product_id) and (${e}.job_id is null or ${e}.job_id = ${f}.job_id)`;

/**
 * The CTEs `ev` (the events `facts` selects: ou_id, type, job_id, product_id, data, ord — stored
 * when an endpoint of the unit subscribes) and `queued` (one delivery per enabled matching
 * endpoint), to embed in a statement that has a `facts` CTE before them.
 */
const OUTBOX_CTES_TEXT = `ev as (
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
    returning 1)`;
const OUTBOX_CTES = sql.raw(OUTBOX_CTES_TEXT);

/** Stores the events `facts` selects and queues their deliveries; returns how many deliveries were queued. */
async function insertEvents(tx: Executor, facts: SQL): Promise<number> {
  const rows = await queryRows<{ n: number | string }>(tx, sql`with facts as (${facts}), ${OUTBOX_CTES} select count(*) as n from queued`);
  return Number(rows[0]?.n ?? 0);
}

/** Takes the change-order locks of these jobs (lock_task_change_order: in job-id order, the trigger's key). */
export async function lockJobsForEvents(tx: Executor, jobIds: readonly string[]): Promise<void> {
  const distinct = [...new Set(jobIds)].sort();
  if (distinct.length === 0) return;
  await queryRows(tx, sql`select lock_task_change_order(array(select jsonb_array_elements_text(${JSON.stringify(distinct)}::jsonb)::uuid))`);
}

/** Wakes this instance's dispatcher after the commit (without it, its poll finds the deliveries). */
export function wakeDispatcher(tx: Executor, queued: number): void {
  if (queued > 0) emitOn(tx, { topic: 'webhooks:queued', args: [{ deliveries: queued }] });
}

/** The job's facts (JobFacts of event-types.ts) as a jsonb expression over `j`, `p`, `f`. */
const JOB_FACTS_TEXT = `jsonb_build_object('jobId', j.id, 'name', j.name, 'jobType', j.type, 'status', j.status, 'productId', j.product_id,
     'productKey', p.product_key, 'firmwareId', j.firmware_id, 'firmwareVersion', f.version, 'firmwareName', f.name)`;
const JOB_FACTS = sql.raw(JOB_FACTS_TEXT);

type JobEventType = 'job.created' | 'job.status_changed' | 'firmware.verified';

/** Queues an event about a job, with the job as the transaction now sees it plus `extra` facts. */
export async function queueJobEvent(tx: Executor, type: JobEventType, jobId: string, extra: Record<string, unknown> = {}): Promise<void> {
  await lockJobsForEvents(tx, [jobId]);
  const queued = await insertEvents(
    tx,
    sql`select j.ou_id, ${type}::text as type, j.id as job_id, j.product_id, ${JOB_FACTS} || ${JSON.stringify(extra)}::jsonb as data, 0 as ord
        from ota_jobs j join products p on p.id = j.product_id join firmwares f on f.id = j.firmware_id
        where j.id = ${jobId}`,
  );
  wakeDispatcher(tx, queued);
}

/** job.status_changed: `previousStatus` is the status before this transaction changed it. */
export function queueJobStatusChanged(
  tx: Executor,
  jobId: string,
  change: { previousStatus: string; change: JobStatusChange; reason?: string | null },
): Promise<void> {
  return queueJobEvent(tx, 'job.status_changed', jobId, { previousStatus: change.previousStatus, change: change.change, reason: change.reason ?? null });
}

/**
 * task.succeeded / task.failed, for the one task writer (domain/tasks/write.ts): CTEs to put after
 * its UPDATE, named `changed` and returning the task's columns and the change's `kind`, so that the
 * events are queued in the very statement that made the tasks final (no round trip of its own;
 * with no endpoint of the unit, nothing is stored). The statement then selects
 * `(select count(*) from queued)`, for wakeDispatcher. The writer holds the jobs' change-order locks.
 */
export const TASK_EVENT_CTES = sql.raw(`facts as (
    select u.ou_id, case u.kind when 'succeeded' then 'task.succeeded' else 'task.failed' end as type, u.job_id, j.product_id,
           ${JOB_FACTS_TEXT} || jsonb_build_object('taskId', u.id, 'deviceKey', u.device_key, 'deviceId', u.device_id, 'attempt', u.attempt,
             'currentVersion', u.current_version, 'failureReason', u.failure_reason, 'failureDetail', u.failure_detail,
             'finishedAt', u.finished_at) as data,
           u.change_seq as ord
    from changed u join ota_jobs j on j.id = u.job_id join products p on p.id = j.product_id join firmwares f on f.id = j.firmware_id
    where u.kind in ('succeeded', 'failed') and exists (select 1 from webhook_endpoints e where e.ou_id = u.ou_id)),
  ${OUTBOX_CTES_TEXT}`);

/** The columns TASK_EVENT_CTES needs from the writer's UPDATE … RETURNING (as `t`). */
export const TASK_EVENT_COLUMNS = sql.raw('t.ou_id, t.device_id, t.attempt, t.current_version, t.failure_reason, t.failure_detail, t.finished_at');

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
export async function queueJobProgress(tx: Executor, jobId: string, counts: Record<string, number>): Promise<number> {
  const queued = await insertEvents(
    tx,
    sql`select j.ou_id, 'job.progress'::text as type, j.id as job_id, j.product_id,
               ${JOB_FACTS} || jsonb_build_object('counts', ${JSON.stringify(counts)}::jsonb) as data, 0 as ord
        from ota_jobs j join products p on p.id = j.product_id join firmwares f on f.id = j.firmware_id
        where j.id = ${jobId}`,
  );
  wakeDispatcher(tx, queued);
  return queued;
}
