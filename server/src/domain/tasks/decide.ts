/**
 * Between the database and the state machine: the columns a transition needs, read the same way
 * by every writer, and the decisions for a set of tasks turned into the changes to write.
 */
import { sql } from 'drizzle-orm';
import type { FailureReason, JobStatus, TaskStatus, WaitingReason } from '../../db/schema.js';
import { type JobContext, type TaskEvent, type TaskRefusal, type TaskState, transition } from './transitions.js';
import type { TaskChange } from './write.js';

/** The task's columns of TaskState, for a select over `job_tasks t`. */
export const TASK_STATE_COLUMNS = sql.raw(
  't.id, t.job_id, t.device_key, t.status, t.progress, t.attempt, t.push_message_id, t.current_version, t.waiting_reason, t.failure_reason, t.timeout_at, t.wave_index',
);

export interface TaskStateRow {
  id: number | string;
  job_id: string;
  device_key: string;
  status: TaskStatus;
  progress: number | string;
  attempt: number;
  push_message_id: string | null;
  current_version: string | null;
  waiting_reason: WaitingReason | null;
  failure_reason: FailureReason | null;
  timeout_at: Date | string | null;
  wave_index: number | null;
}

/** The columns of a task's state, as every writer's select reads them. */
type TaskStateColumns = Pick<
  TaskStateRow,
  'status' | 'progress' | 'attempt' | 'push_message_id' | 'current_version' | 'waiting_reason' | 'failure_reason' | 'timeout_at' | 'wave_index'
>;

export function taskStateOf(row: TaskStateColumns): TaskState {
  return {
    status: row.status,
    progress: Number(row.progress),
    attempt: row.attempt,
    pushMessageId: row.push_message_id,
    currentVersion: row.current_version,
    waitingReason: row.waiting_reason,
    failureReason: row.failure_reason,
    timeoutAt: row.timeout_at === null ? null : new Date(row.timeout_at),
    wave: row.wave_index ?? null,
  };
}

/** The job's columns of JobContext, for a select joining `ota_jobs j`. */
export const JOB_CONTEXT_COLUMNS = sql.raw('j.status as job_status, j.retry_count, j.retry_interval_minutes, j.active_wave');

export interface JobContextRow {
  job_status: JobStatus;
  retry_count: number;
  retry_interval_minutes: number;
  active_wave: number | null;
}

export function jobContextOf(row: JobContextRow, minuteMs: number): JobContext {
  return {
    status: row.job_status,
    retryCount: row.retry_count,
    retryIntervalMinutes: row.retry_interval_minutes,
    minuteMs,
    pushableWave: row.active_wave ?? null,
  };
}

/**
 * A job row's JobContext. `pushableWave` defaults to the job's active wave; the push step passes
 * what it read of the wave (-1 while the active wave has not started).
 */
export function jobContextOfJob(
  job: { status: JobStatus; retryCount: number; retryIntervalMinutes: number; activeWave: number | null },
  minuteMs: number,
  pushableWave: number | null = job.activeWave,
): JobContext {
  return { status: job.status, retryCount: job.retryCount, retryIntervalMinutes: job.retryIntervalMinutes, minuteMs, pushableWave };
}

export interface Decisions<R> {
  changes: TaskChange[];
  /** Tasks whose device must be told to stop its upgrade (once the change is written). */
  cancels: R[];
  refused: { row: R; refusal: TaskRefusal }[];
}

/** Runs each task through the state machine with its event; collects what to write. */
export function decide<R extends TaskStateRow>(rows: readonly R[], eventOf: (row: R) => TaskEvent, jobOf: (row: R) => JobContext): Decisions<R> {
  const out: Decisions<R> = { changes: [], cancels: [], refused: [] };
  for (const row of rows) {
    const state = taskStateOf(row);
    const t = transition(state, eventOf(row), jobOf(row));
    if (!t.ok) {
      out.refused.push({ row, refusal: t.refusal });
      continue;
    }
    if (t.update) out.changes.push({ id: Number(row.id), jobId: row.job_id, from: state.status, update: t.update });
    if (t.sendCancel) out.cancels.push(row);
  }
  return out;
}
