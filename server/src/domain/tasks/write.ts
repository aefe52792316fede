/**
 * The one writer of task transitions: every change decided by domain/tasks/transitions.ts, from
 * the engine, the device gateway and the domain functions alike, is written here, in bulk — one
 * UPDATE for a whole batch of changes (and one DELETE for tasks that leave their job). Each change
 * is conditional on the status it was decided from, so that a concurrent cancel or another
 * instance's report wins cleanly instead of being overwritten: the task ends in exactly one final
 * state and never moves backwards.
 *
 * The database owns the bookkeeping: the row trigger of task_change_order takes the job's
 * change-order lock and draws change_seq, the task_counts triggers keep the tab counts. Durations
 * are applied to the database's clock (timeout_at = now() + …), never to this process's.
 */
import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import type { TaskStatus } from '../../db/schema.js';
import { preparedRows, queryRows as queryRowsOf } from '../../db/sql.js';
import { TASK_EVENT_COLUMNS, TASK_EVENT_CTES, wakeDispatcher } from '../webhooks/outbox.js';
import type { TaskUpdate, TaskUpdateKind } from './transitions.js';

export interface TaskChange {
  id: number;
  jobId: string;
  /** The status the change was decided from: the change applies only if the task is still in it. */
  from: TaskStatus;
  update: TaskUpdate;
}

export interface WrittenChange {
  id: number;
  jobId: string;
  deviceKey: string;
  status: TaskStatus;
  changeSeq: number;
  kind: TaskUpdateKind;
}

const STATUS_AFTER: Record<TaskUpdateKind, TaskStatus | null> = {
  pushed: 'PUSHED',
  progress: 'IN_PROGRESS',
  version: null,
  succeeded: 'SUCCEEDED',
  failed: 'FAILED',
  requeued: 'TO_BE_PUSHED',
  retried: 'TO_BE_PUSHED',
  waiting: null,
  timeoutMoved: null,
  removed: null,
};

interface Row {
  id: number;
  kind: TaskUpdateKind;
  from: TaskStatus;
  status: TaskStatus;
  progress: number | null;
  current_version: string | null;
  reason: string | null;
  detail: string | null;
  waiting: string | null;
  /** Duration in ms: the timeout of a push or a moved timeout, the delay of a requeue. */
  ms: number | null;
  mid: string | null;
  device_id: string | null;
}

function rowOf(change: TaskChange): Row {
  const u = change.update;
  return {
    id: change.id,
    kind: u.kind,
    from: change.from,
    status: STATUS_AFTER[u.kind] ?? change.from,
    progress: u.kind === 'progress' ? u.progress : null,
    current_version: 'currentVersion' in u ? (u.currentVersion ?? null) : null,
    reason: u.kind === 'failed' ? u.reason : null,
    detail: u.kind === 'failed' || u.kind === 'requeued' ? u.detail : null,
    waiting: u.kind === 'requeued' || u.kind === 'waiting' ? u.waitingReason : null,
    ms: u.kind === 'pushed' || u.kind === 'timeoutMoved' ? u.timeoutMs : u.kind === 'requeued' ? u.retryDelayMs : null,
    mid: u.kind === 'pushed' ? u.messageId : null,
    device_id: u.kind === 'retried' ? u.deviceId : null,
  };
}

type Returned = {
  id: number | string;
  job_id: string;
  device_key: string;
  status: TaskStatus;
  change_seq: number | string;
  kind: TaskUpdateKind;
  /** Webhook deliveries the statement queued (the same on every row). */
  webhook_deliveries?: number | string;
};

/** Applies the changes; returns the tasks actually changed (a task no longer in `from` is left alone). */
export async function writeTaskChanges(tx: Executor, changes: readonly TaskChange[]): Promise<WrittenChange[]> {
  if (changes.length === 0) return [];
  const updates: Row[] = [];
  const removals: Row[] = [];
  for (const change of changes) (change.update.kind === 'removed' ? removals : updates).push(rowOf(change));
  const jobIds = [...new Set(changes.map((c) => c.jobId))];
  // Sent together (pipelined on the transaction's connection; the database runs them in order).
  const [, updated, removed] = await Promise.all([
    jobIds.length > 1
      ? preparedRows(tx, sql`select lock_task_change_order(array(select jsonb_array_elements_text(${JSON.stringify(jobIds)}::jsonb)::uuid))`)
      : Promise.resolve([]),
    updates.length > 0 ? updateTasks(tx, updates) : Promise.resolve([]),
    removals.length > 0 ? removeTasks(tx, removals) : Promise.resolve([]),
  ]);
  wakeDispatcher(tx, Number(updated[0]?.webhook_deliveries ?? 0));
  return [...updated, ...removed].map((w) => ({
    id: Number(w.id),
    jobId: w.job_id,
    deviceKey: w.device_key,
    status: w.status,
    changeSeq: Number(w.change_seq),
    kind: w.kind,
  }));
}

/**
 * What a change makes of a task's columns: `t` the task, `c` the change (a row of CHANGE_COLUMNS).
 * Shared by the writer of single tasks and the writer of job-level changes, so both write the same.
 * pushed_at is the statement's time, not the transaction's start: a push that waited on the job row
 * for a wave to start (engine/waves.ts) is stamped after that wave started.
 */
const SET_FROM_CHANGE = sql.raw(`
  status = c.status::upgrade_status,
  progress = case when c.kind = 'progress' then greatest(t.progress, c.progress)
                  when c.kind = 'succeeded' then 100
                  when c.kind in ('pushed', 'requeued', 'retried') then 0 else t.progress end,
  current_version = coalesce(c.current_version, t.current_version),
  started_at = case when c.kind = 'progress' then coalesce(t.started_at, now())
                    when c.kind in ('pushed', 'requeued', 'retried') then null else t.started_at end,
  finished_at = case when c.kind in ('succeeded', 'failed') then now()
                     when c.kind in ('requeued', 'retried') then null else t.finished_at end,
  failed_at = case when c.kind = 'failed' then now() when c.kind in ('requeued', 'retried') then null else t.failed_at end,
  failure_reason = case when c.kind = 'failed' then c.reason::failure_reason
                        when c.kind in ('requeued', 'retried') then null else t.failure_reason end,
  failure_detail = case when c.kind in ('failed', 'requeued') then c.detail when c.kind = 'retried' then null else t.failure_detail end,
  waiting_reason = case when c.kind in ('requeued', 'waiting') then c.waiting::waiting_reason else null end,
  next_attempt_at = case when c.kind = 'requeued' then now() + c.ms * interval '1 millisecond'
                         when c.kind = 'waiting' then t.next_attempt_at else null end,
  attempt = case when c.kind in ('requeued', 'retried') then t.attempt + 1 else t.attempt end,
  pushed_at = case when c.kind = 'pushed' then statement_timestamp() when c.kind in ('requeued', 'retried') then null else t.pushed_at end,
  push_message_id = case when c.kind = 'pushed' then c.mid when c.kind in ('requeued', 'retried') then null else t.push_message_id end,
  timeout_at = case when c.kind = 'pushed' then now() + c.ms * interval '1 millisecond'
                    when c.kind = 'timeoutMoved' then t.pushed_at + c.ms * interval '1 millisecond'
                    when c.kind in ('succeeded', 'failed', 'requeued', 'retried') then null else t.timeout_at end,
  device_id = case when c.kind = 'retried' then c.device_id else t.device_id end,
  updated_at = now()`);

/** The change rows' columns, as rowOf builds them. */
const CHANGE_COLUMNS = sql.raw(
  'id bigint, kind text, "from" text, status text, progress int, current_version text, reason text, detail text, waiting text, ms bigint, mid text, device_id uuid',
);

/**
 * The UPDATE, and in the same statement the webhook events of the tasks it made final
 * (domain/webhooks/outbox.ts: task.succeeded, task.failed; nothing is stored when no endpoint of
 * the unit subscribes).
 */
function updateTasks(tx: Executor, rows: Row[]): Promise<Returned[]> {
  return preparedRows<Returned>(
    tx,
    sql`with changed as (update job_tasks t set ${SET_FROM_CHANGE}
        from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as c(${CHANGE_COLUMNS})
        where t.id = c.id and t.status::text = c."from"
        returning t.id, t.job_id, t.device_key, t.status, t.change_seq, c.kind, ${TASK_EVENT_COLUMNS}),
        ${TASK_EVENT_CTES}
        select id, job_id, device_key, status, change_seq, kind, (select count(*) from queued) as webhook_deliveries from changed`,
  );
}

/**
 * A job-level change (transitions.ts transitionsByStatus: one update per status) written to every
 * task of the job in those statuses in one statement, set-based: the tasks are locked in id order
 * (as every writer locks them), each gets its status's change through SET_FROM_CHANGE, and the
 * change-order and count triggers run as for any write. Nothing per task comes back but the keys
 * of the devices written from a status in `keysFrom` (the ones to tell, e.g. of a cancel): how
 * many tasks changed and the highest change number.
 */
export async function writeJobTaskChanges(
  tx: Executor,
  jobId: string,
  byStatus: Partial<Record<TaskStatus, TaskUpdate>>,
  keysFrom: readonly TaskStatus[] = [],
): Promise<{ count: number; maxChangeSeq: number; deviceKeys: string[] }> {
  const rows = Object.entries(byStatus).map(([from, update]) => rowOf({ id: 0, jobId, from: from as TaskStatus, update: update! }));
  if (rows.some((r) => r.kind === 'removed')) throw new Error('writeJobTaskChanges: a removal is not a job-level change');
  if (rows.length === 0) return { count: 0, maxChangeSeq: 0, deviceKeys: [] };
  const changes = JSON.stringify(rows);
  const [summary] = await preparedRows<{ n: number | string; max_seq: number | string | null; keys: string[] | null; webhook_deliveries: number | string }>(
    tx,
    sql`with target as (
          select t.id from job_tasks t
          where t.job_id = ${jobId} and t.status::text in (select "from" from jsonb_to_recordset(${changes}::jsonb) as c("from" text))
          order by t.id
          for update),
        changed as (update job_tasks t set ${SET_FROM_CHANGE}
          from target, jsonb_to_recordset(${changes}::jsonb) as c(${CHANGE_COLUMNS})
          where t.id = target.id and t.status::text = c."from"
          returning t.id, t.job_id, t.device_key, t.status, t.change_seq, c.kind, c."from", ${TASK_EVENT_COLUMNS}),
        ${TASK_EVENT_CTES}
        select count(*) as n, max(change_seq) as max_seq,
               array_agg(device_key order by id) filter (where "from" in (select jsonb_array_elements_text(${JSON.stringify(keysFrom)}::jsonb))) as keys,
               (select count(*) from queued) as webhook_deliveries
        from changed`,
  );
  wakeDispatcher(tx, Number(summary.webhook_deliveries));
  return { count: Number(summary.n), maxChangeSeq: Number(summary.max_seq ?? 0), deviceKeys: summary.keys ?? [] };
}

/** Tasks that leave their job, each logged in job_task_removals for subscribers that resume. */
function removeTasks(tx: Executor, rows: Row[]): Promise<Returned[]> {
  return preparedRows<Returned>(
    tx,
    sql`with removed as (
          delete from job_tasks t
          using jsonb_to_recordset(${JSON.stringify(rows.map((r) => ({ id: r.id, from: r.from })))}::jsonb) as c(id bigint, "from" text)
          where t.id = c.id and t.status::text = c."from"
          returning t.id, t.job_id, t.device_key, t.status)
        insert into job_task_removals (job_id, task_id, device_key)
        select job_id, id, device_key from removed
        returning task_id as id, job_id, device_key, 'TO_BE_PUSHED'::upgrade_status as status, change_seq, 'removed' as kind`,
  );
}

/** Per job: how many tasks changed and the highest change sequence, for jobEvents. */
export function changesByJob(written: readonly { jobId: string; changeSeq: number }[]): Map<string, { maxChangeSeq: number; count: number }> {
  const byJob = new Map<string, { maxChangeSeq: number; count: number }>();
  for (const w of written) {
    const entry = byJob.get(w.jobId) ?? { maxChangeSeq: 0, count: 0 };
    entry.maxChangeSeq = Math.max(entry.maxChangeSeq, w.changeSeq);
    entry.count++;
    byJob.set(w.jobId, entry);
  }
  return byJob;
}

/**
 * A rollout plan's assignment of a job's tasks to waves (domain/jobs/wave-rules.ts assignWaves),
 * written once when the job is created: not a change of status, but a task write like any other
 * (the change-order and count triggers run; the wave counts start from it).
 */
export async function writeWaveAssignment(tx: Executor, jobId: string, rows: readonly { id: number; wave: number; order: number }[]): Promise<void> {
  if (rows.length === 0) return;
  await queryRowsOf(
    tx,
    sql`update job_tasks t set wave_index = a.wave, wave_order = a.ord
        from jsonb_to_recordset(${JSON.stringify(rows.map((r) => ({ id: r.id, wave: r.wave, ord: r.order })))}::jsonb) as a(id bigint, wave smallint, ord int)
        where t.id = a.id and t.job_id = ${jobId}`,
  );
}
