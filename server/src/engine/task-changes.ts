/**
 * The task transitions the engine and the device gateway make, written in bulk: one UPDATE for a
 * whole batch of changes, each conditional on the status the change was decided from, so that a
 * concurrent cancel or another instance's report wins cleanly instead of being overwritten (the
 * task ends in exactly one final state and never moves backwards). Every change bumps change_seq
 * and updated_at, and the caller queues the job events from the returned rows.
 *
 * Failures go through the job's retry policy here, in one place: a retryable failure with attempts
 * left goes back to To be Pushed (attempt + 1) and waits the retry interval; anything else is final.
 */
import { sql } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import type { FailureReason, JobStatus, TaskStatus, WaitingReason } from '../db/schema.js';
import { preparedRows } from './prepared-sql.js';
import { RETRYABLE_REASONS } from '../domain/tasks/rules.js';

export type TaskChange =
  /** The device reported a percentage: In Progress, progress never decreases. */
  | { kind: 'progress'; id: number; from: TaskStatus; progress: number; currentVersion?: string }
  /** The device informed the target version. */
  | { kind: 'succeeded'; id: number; from: TaskStatus; currentVersion: string }
  | { kind: 'failed'; id: number; from: TaskStatus; reason: FailureReason; detail: string }
  /** A retryable failure with attempts left: back to To be Pushed until `nextAttemptAt`. */
  | { kind: 'requeued'; id: number; from: TaskStatus; detail: string; nextAttemptAt: Date; waitingReason: WaitingReason | null }
  /** Only the device's last reported version changed. */
  | { kind: 'version'; id: number; from: TaskStatus; currentVersion: string };

export interface RetrySettings {
  attempt: number;
  retryCount: number;
  retryIntervalMinutes: number;
  jobStatus: JobStatus;
}

/**
 * What a failure of one attempt becomes. A cancelled or finished job retries nothing: its tasks
 * would wait for a push that never comes.
 */
export function failureChange(
  task: { id: number; from: TaskStatus } & RetrySettings,
  reason: FailureReason,
  detail: string,
  now: Date,
  minuteMs: number,
): TaskChange {
  const jobTakesRetries = task.jobStatus === 'RUNNING' || task.jobStatus === 'STOPPED' || task.jobStatus === 'SCHEDULED';
  if (RETRYABLE_REASONS.has(reason) && task.attempt <= task.retryCount && jobTakesRetries) {
    const waitMs = task.retryIntervalMinutes * minuteMs;
    return {
      kind: 'requeued',
      id: task.id,
      from: task.from,
      detail: `Attempt ${task.attempt} of ${task.retryCount + 1} failed (${reason}): ${detail}`.slice(0, 2000),
      nextAttemptAt: new Date(now.getTime() + waitMs),
      waitingReason: waitMs > 0 ? 'RETRY_INTERVAL' : null,
    };
  }
  return { kind: 'failed', id: task.id, from: task.from, reason, detail: detail.slice(0, 2000) };
}

export interface WrittenChange {
  id: number;
  jobId: string;
  status: TaskStatus;
  changeSeq: number;
  kind: TaskChange['kind'];
}

/**
 * Applies the changes; returns the rows actually changed (a task no longer in `from` is left alone).
 * `jobIds`, when the caller knows them, are the jobs of the changed tasks (saves finding them).
 */
export async function writeTaskChanges(tx: Executor, changes: readonly TaskChange[], jobIds?: readonly string[]): Promise<WrittenChange[]> {
  if (changes.length === 0) return [];
  const rows = changes.map((c) => ({
    id: c.id,
    kind: c.kind,
    from: c.from,
    status:
      c.kind === 'progress'
        ? 'IN_PROGRESS'
        : c.kind === 'succeeded'
          ? 'SUCCEEDED'
          : c.kind === 'failed'
            ? 'FAILED'
            : c.kind === 'requeued'
              ? 'TO_BE_PUSHED'
              : c.from,
    progress: c.kind === 'progress' ? c.progress : null,
    current_version: c.kind === 'progress' || c.kind === 'succeeded' || c.kind === 'version' ? (c.currentVersion ?? null) : null,
    reason: c.kind === 'failed' ? c.reason : null,
    detail: c.kind === 'failed' || c.kind === 'requeued' ? c.detail : null,
    waiting: c.kind === 'requeued' ? c.waitingReason : null,
    next_attempt_at: c.kind === 'requeued' ? c.nextAttemptAt.toISOString() : null,
  }));
  // The task trigger takes each job's change-order lock (727002, see drizzle/*task_change_order);
  // taking them here first, in one order, keeps two batches that span the same jobs from deadlocking.
  // Changes of a single known job need no such step: the trigger takes its one lock.
  const locked =
    jobIds === undefined
      ? preparedRows(
          tx,
          sql`select pg_advisory_xact_lock(727002, hashtext(j.job_id::text))
              from (select distinct job_id from job_tasks
                    where id in (select jsonb_array_elements_text(${JSON.stringify(changes.map((c) => c.id))}::jsonb)::bigint)
                    order by job_id) j`,
        )
      : jobIds.length > 1
        ? preparedRows(
            tx,
            sql`select pg_advisory_xact_lock(727002, hashtext(j.id::text))
                from (select distinct x.id::uuid as id from jsonb_array_elements_text(${JSON.stringify(jobIds)}::jsonb) as x(id) order by 1) j`,
          )
        : Promise.resolve([]);
  // Sent right behind the locks (pipelined; the database runs them in order).
  const update = preparedRows<{ id: number | string; job_id: string; status: TaskStatus; change_seq: number | string; kind: TaskChange['kind'] }>(
    tx,
    sql`update job_tasks t set
          status = c.status::upgrade_status,
          progress = case c.kind when 'progress' then greatest(t.progress, c.progress)
                                 when 'succeeded' then 100 when 'requeued' then 0 else t.progress end,
          current_version = coalesce(c.current_version, t.current_version),
          started_at = case c.kind when 'progress' then coalesce(t.started_at, now()) when 'requeued' then null else t.started_at end,
          finished_at = case when c.kind in ('succeeded', 'failed') then now() when c.kind = 'requeued' then null else t.finished_at end,
          failed_at = case c.kind when 'failed' then now() when 'requeued' then null else t.failed_at end,
          failure_reason = case c.kind when 'failed' then c.reason::failure_reason when 'requeued' then null else t.failure_reason end,
          failure_detail = case when c.kind in ('failed', 'requeued') then c.detail else t.failure_detail end,
          waiting_reason = case c.kind when 'requeued' then c.waiting::waiting_reason else null end,
          next_attempt_at = case c.kind when 'requeued' then c.next_attempt_at else null end,
          attempt = case c.kind when 'requeued' then t.attempt + 1 else t.attempt end,
          pushed_at = case c.kind when 'requeued' then null else t.pushed_at end,
          push_message_id = case c.kind when 'requeued' then null else t.push_message_id end,
          timeout_at = case when c.kind in ('succeeded', 'failed', 'requeued') then null else t.timeout_at end,
          updated_at = now(),
          change_seq = nextval('task_change_seq')
        from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as c(
          id bigint, kind text, "from" text, status text, progress int, current_version text,
          reason text, detail text, waiting text, next_attempt_at timestamptz)
        where t.id = c.id and t.status::text = c."from"
        returning t.id, t.job_id, t.status, t.change_seq, c.kind`,
  );
  const [, written] = await Promise.all([locked, update]);
  return written.map((w) => ({ id: Number(w.id), jobId: w.job_id, status: w.status, changeSeq: Number(w.change_seq), kind: w.kind }));
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
