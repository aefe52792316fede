/**
 * What the console shows of tasks: which statuses are final, the words of each status and reason,
 * the counts per tab and a job's progress. Pure. The transitions themselves are in transitions.ts.
 */
import {
  FAILURE_REASON_LABELS as CONSOLE_FAILURE_REASON_LABELS,
  STATUS_LABELS as CONSOLE_STATUS_LABELS,
  WAITING_REASON_LABELS as CONSOLE_WAITING_REASON_LABELS,
} from '@updraft/labels';
import type { FailureReason, TaskStatus, WaitingReason } from '../../db/schema.js';

export const UNFINISHED_STATUSES = ['TO_BE_PUSHED', 'PUSHED', 'IN_PROGRESS'] as const satisfies readonly TaskStatus[];

/**
 * The words of tasks (tab names, failure and waiting reasons) are the console's (@updraft/labels);
 * the API serves the same ones. `satisfies` fails the build if the model gains a value without words.
 */
export const STATUS_LABELS = CONSOLE_STATUS_LABELS satisfies Record<TaskStatus, string>;
export const FAILURE_REASON_LABELS = CONSOLE_FAILURE_REASON_LABELS satisfies Record<FailureReason, string>;
export const WAITING_REASON_LABELS = CONSOLE_WAITING_REASON_LABELS satisfies Record<WaitingReason, string>;

export interface StatusCounts {
  toBePushed: number;
  pushed: number;
  inProgress: number;
  succeeded: number;
  failed: number;
}

export const EMPTY_COUNTS: StatusCounts = { toBePushed: 0, pushed: 0, inProgress: 0, succeeded: 0, failed: 0 };

export const COUNT_FIELD: Record<TaskStatus, keyof StatusCounts> = {
  TO_BE_PUSHED: 'toBePushed',
  PUSHED: 'pushed',
  IN_PROGRESS: 'inProgress',
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
};

export function totalTasks(counts: StatusCounts): number {
  return counts.toBePushed + counts.pushed + counts.inProgress + counts.succeeded + counts.failed;
}

/** DESIGN §3: final tasks / all tasks × 100; a job without tasks has made no progress. */
export function jobProgress(counts: StatusCounts): number {
  const total = totalTasks(counts);
  if (total === 0) return 0;
  return Math.round(((counts.succeeded + counts.failed) / total) * 10_000) / 100;
}

export function isExecuting(counts: StatusCounts): boolean {
  return counts.toBePushed + counts.pushed + counts.inProgress > 0;
}

/**
 * Why a To be Pushed task waits. A scheduled or stopped job explains all of its waiting tasks at
 * once (so stopping a 100,000-task job touches one row); otherwise the engine's last reason stands.
 */
export function effectiveWaitingReason(jobStatus: string, task: { status: TaskStatus; waitingReason: WaitingReason | null }): WaitingReason | null {
  if (task.status !== 'TO_BE_PUSHED') return null;
  if (jobStatus === 'SCHEDULED') return 'SCHEDULED';
  if (jobStatus === 'STOPPED') return 'JOB_STOPPED';
  if (jobStatus === 'WAITING_FOR_APPROVAL') return 'WAITING_FOR_APPROVAL';
  return task.waitingReason;
}
