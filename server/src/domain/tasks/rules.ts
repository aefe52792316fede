/**
 * What the console shows of tasks: which statuses are final, the words of each status and reason,
 * the counts per tab and a job's progress. Pure. The transitions themselves are in transitions.ts.
 */
import type { FailureReason, TaskStatus, WaitingReason } from '../../db/schema.js';

export const FINAL_STATUSES = ['SUCCEEDED', 'FAILED'] as const satisfies readonly TaskStatus[];
export const IN_FLIGHT_STATUSES = ['PUSHED', 'IN_PROGRESS'] as const satisfies readonly TaskStatus[];
export const UNFINISHED_STATUSES = ['TO_BE_PUSHED', 'PUSHED', 'IN_PROGRESS'] as const satisfies readonly TaskStatus[];
export const CANCELLABLE_STATUSES = ['TO_BE_PUSHED', 'PUSHED'] as const satisfies readonly TaskStatus[];

export function isFinal(status: TaskStatus): boolean {
  return status === 'SUCCEEDED' || status === 'FAILED';
}

/** Tab names of the job details page, in order. */
export const STATUS_LABELS: Record<TaskStatus, string> = {
  TO_BE_PUSHED: 'To be Pushed',
  PUSHED: 'Pushed',
  IN_PROGRESS: 'In Progress',
  SUCCEEDED: 'Upgrade Successful',
  FAILED: 'Upgrade Failed',
};

export const FAILURE_REASON_LABELS: Record<FailureReason, string> = {
  CANCELLED_BY_USER: 'Cancelled by user',
  DEVICE_IGNORED: 'Device ignored this upgrade',
  VERSION_NOT_IN_SCOPE: 'Device version not included in the target scope',
  WRITE_FAILED: 'Failed to write firmware to device',
  DOWNLOAD_FAILED: 'Firmware download failed',
  VERIFICATION_FAILED: 'Firmware verification failed',
  LAST_UPGRADE_IN_PROGRESS: 'Last upgrade in progress',
  DEVICE_NOT_FOUND: 'Target device not found',
  UNDEFINED: 'Undefined failure',
  TIMEOUT: 'Upgrade timeout',
};

export const WAITING_REASON_LABELS: Record<WaitingReason, string> = {
  OFFLINE: 'Device is offline',
  CONCURRENCY_LIMIT: 'Concurrency limit reached',
  OUTSIDE_WINDOW: 'Outside the upgrade window',
  RATE_LIMIT: 'Push rate limit reached',
  JOB_STOPPED: 'Job is stopped',
  SCHEDULED: 'Job has not started yet',
  RETRY_INTERVAL: 'Waiting for the retry interval',
};

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
  return task.waitingReason;
}
