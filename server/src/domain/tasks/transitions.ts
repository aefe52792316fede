/**
 * The task state machine of DESIGN §3 as one pure function: given a task as it is and an event,
 * `transition` returns the change to write (or none) and the task as it then is, or a typed
 * refusal. No database, no clock: times and durations come in with the event and the job.
 *
 * Every writer of job_tasks decides here and writes through domain/tasks/write.ts, whose UPDATE is
 * conditional on the status the decision was made from: two decisions made from the same state
 * (an operator's cancel and a device's report, a timeout and a report) can both be taken, and the
 * one written second then finds the task moved on and changes nothing. So a task ends in exactly
 * one final state, and `applyConditionally` below models that writer for the unit tests.
 *
 * A rule that depends on the order of a device's reports (a report sequence that must not go
 * backwards) belongs here too: give the report events the device's order and TaskState the last
 * one applied, and refuse what comes out of order.
 */
import { type FailureReason, type JobStatus, TASK_STATUSES, type TaskStatus, type WaitingReason } from '../../db/schema.js';

/** What a transition needs of a task. */
export interface TaskState {
  status: TaskStatus;
  progress: number;
  attempt: number;
  /** Message id of the current push (matches the device's reply to it). */
  pushMessageId: string | null;
  currentVersion: string | null;
  waitingReason: WaitingReason | null;
  failureReason: FailureReason | null;
  /** When an in-flight task times out (the database's clock). */
  timeoutAt: Date | null;
  /** The task's wave of the job's rollout plan; null when the job has none. */
  wave: number | null;
}

/** What a transition needs of the task's job. */
export interface JobContext {
  status: JobStatus;
  retryCount: number;
  retryIntervalMinutes: number;
  /** How long a job minute lasts (ENGINE_MINUTE_MS; a real minute outside tests). */
  minuteMs: number;
  /**
   * With a rollout plan, the last wave whose devices may be pushed (the active wave once started;
   * -1 before the first starts); null when the job has no plan.
   */
  pushableWave: number | null;
}

/** A device's progress step, as the protocol reads it (devices/protocol.ts interpretProgressStep). */
export type StepOutcome = { kind: 'progress'; percent: number } | { kind: 'failed'; reason: FailureReason };

/** A check at push time that keeps a device from being pushed (DESIGN §3 failure reasons). */
export type PushTimeFailure = Extract<FailureReason, 'DEVICE_NOT_FOUND' | 'VERSION_NOT_IN_SCOPE' | 'LAST_UPGRADE_IN_PROGRESS'>;

export type TaskEvent =
  /** The engine pushes the task; `refusedBy` when a push-time check fails instead. */
  | { type: 'push'; messageId: string; timeoutMinutes: number; refusedBy?: { reason: PushTimeFailure; detail: string } }
  /** The device answered the push with 200. */
  | { type: 'deviceAccepted'; messageId: string }
  /** The device answered the push with another code. */
  | { type: 'deviceDeclined'; messageId: string; code: number; message?: string }
  | { type: 'progress'; step: string; outcome: StepOutcome; desc?: string }
  /** The device's version; the upgrade succeeded when it is `targetVersion` (the job's firmware). */
  | { type: 'inform'; version: string; targetVersion: string }
  /** An operator's cancelUpgrade of this device. */
  | { type: 'cancel'; by: string }
  /** An operator's retryUpgrade: a new attempt; `deviceId` is the device found again by key. */
  | { type: 'retry'; deviceId: string | null }
  /** The timeout sweep; `now` is the database's clock. */
  | { type: 'timeout'; now: Date; timeoutMinutes: number }
  /** editJob set a new timeout: it applies to tasks in flight too, counted from their push. */
  | { type: 'timeoutChanged'; timeoutMinutes: number }
  /** editJob narrowed the scope and the task's device is no longer in it. */
  | { type: 'scopeLeft' }
  | { type: 'jobStopped' }
  | { type: 'jobCancelled'; by: string }
  /** The engine's view of why a To be Pushed task waits. */
  | { type: 'waitingRefresh'; reason: WaitingReason | null };

export type TaskEventType = TaskEvent['type'];

/** A change to write: domain/tasks/write.ts turns each kind into column values. */
export type TaskUpdate =
  | { kind: 'pushed'; messageId: string; timeoutMs: number }
  /** In Progress; progress never decreases. */
  | { kind: 'progress'; progress: number; currentVersion?: string }
  /** Only the device's last reported version changed. */
  | { kind: 'version'; currentVersion: string }
  | { kind: 'succeeded'; currentVersion: string }
  | { kind: 'failed'; reason: FailureReason; detail: string; currentVersion?: string }
  /** A retryable failure with attempts left: To be Pushed again once `retryDelayMs` passed. */
  | { kind: 'requeued'; detail: string; retryDelayMs: number; waitingReason: WaitingReason | null; currentVersion?: string }
  /** An operator's retry: a fresh attempt, the failure cleared. */
  | { kind: 'retried'; deviceId: string | null }
  | { kind: 'waiting'; waitingReason: WaitingReason | null }
  /** timeout_at = pushed_at + timeoutMs. */
  | { kind: 'timeoutMoved'; timeoutMs: number }
  /** The task leaves the job (logged in job_task_removals for subscribers). */
  | { kind: 'removed' };

export type TaskUpdateKind = TaskUpdate['kind'];

export type RefusalCode =
  /** The event is about an upgrade in flight and the task is not in flight. */
  | 'NOT_IN_FLIGHT'
  /** A progress report for a task not pushed yet (the device is answered 765). */
  | 'NOT_STARTED'
  /** A progress report for a task already final (the device is answered 764). */
  | 'NO_TASK'
  /** A reply to a push that is not the task's current one. */
  | 'STALE_REPLY'
  /** Cancel of a device already flashing. */
  | 'IN_PROGRESS'
  | 'ALREADY_FINISHED'
  | 'NOT_FAILED'
  /** An event for a task waiting to be pushed, and this one is not. */
  | 'NOT_WAITING'
  /** The timeout sweep found a task whose timeout has not come. */
  | 'NOT_DUE'
  /** A push of a device whose wave has not started. */
  | 'WAVE_NOT_STARTED';

export interface TaskRefusal {
  code: RefusalCode;
  message: string;
}

export type Transition =
  | {
      ok: true;
      /** Null: nothing to write (the event changes nothing the database keeps). */
      update: TaskUpdate | null;
      next: TaskState;
      /** The device has an upgrade in flight that must be told to stop. */
      sendCancel: boolean;
    }
  | { ok: false; refusal: TaskRefusal };

/**
 * Failures worth pushing again under the job's retry policy. A user's cancel, a device that is not
 * there, out of scope or busy with another job are not: retrying cannot change their outcome.
 */
export const RETRYABLE_REASONS: ReadonlySet<FailureReason> = new Set<FailureReason>([
  'DEVICE_IGNORED',
  'WRITE_FAILED',
  'DOWNLOAD_FAILED',
  'VERIFICATION_FAILED',
  'UNDEFINED',
  'TIMEOUT',
]);

const MAX_DETAIL = 2000;

const REFUSALS: Record<RefusalCode, string> = {
  NOT_IN_FLIGHT: 'The upgrade of this device is not in flight.',
  NOT_STARTED: 'The upgrade has not been pushed to this device yet.',
  NO_TASK: 'No upgrade task for this device.',
  STALE_REPLY: 'The reply is not to the current push of this device.',
  IN_PROGRESS: 'The device is already upgrading: wait for its result or for the timeout.',
  ALREADY_FINISHED: 'The upgrade of this device has already ended.',
  NOT_FAILED: 'Only failed upgrades can be retried.',
  NOT_WAITING: 'The device is not waiting to be pushed.',
  NOT_DUE: 'The timeout of this upgrade has not come yet.',
  WAVE_NOT_STARTED: "The device's wave of the rollout has not started yet.",
};

function refuse(code: RefusalCode): Transition {
  return { ok: false, refusal: { code, message: REFUSALS[code] } };
}

function changed(state: TaskState, update: TaskUpdate, sendCancel = false): Transition {
  return { ok: true, update, next: applyUpdate(state, update), sendCancel };
}

function unchanged(state: TaskState): Transition {
  return { ok: true, update: null, next: state, sendCancel: false };
}

const inFlight = (status: TaskStatus) => status === 'PUSHED' || status === 'IN_PROGRESS';
const isFinalStatus = (status: TaskStatus) => status === 'SUCCEEDED' || status === 'FAILED';

/**
 * What a failure of one attempt becomes under the job's retry policy: a retryable reason with
 * attempts left goes back to To be Pushed (attempt + 1) after the retry interval; anything else is
 * final. A cancelled or finished job retries nothing: its tasks would wait for a push that never comes.
 */
export function failure(state: TaskState, job: JobContext, reason: FailureReason, detail: string): TaskUpdate {
  const jobTakesRetries = job.status === 'RUNNING' || job.status === 'STOPPED' || job.status === 'SCHEDULED' || job.status === 'WAITING_FOR_APPROVAL';
  if (RETRYABLE_REASONS.has(reason) && state.attempt <= job.retryCount && jobTakesRetries) {
    const retryDelayMs = job.retryIntervalMinutes * job.minuteMs;
    return {
      kind: 'requeued',
      detail: `Attempt ${state.attempt} of ${job.retryCount + 1} failed (${reason}): ${detail}`.slice(0, MAX_DETAIL),
      retryDelayMs,
      waitingReason: retryDelayMs > 0 ? 'RETRY_INTERVAL' : null,
    };
  }
  return { kind: 'failed', reason, detail: detail.slice(0, MAX_DETAIL) };
}

/** A new attempt of the task: To be Pushed again, with nothing of the last attempt but the device's version. */
function newAttempt(state: TaskState, waitingReason: WaitingReason | null, currentVersion: string | null): TaskState {
  return {
    ...state,
    status: 'TO_BE_PUSHED',
    progress: 0,
    attempt: state.attempt + 1,
    pushMessageId: null,
    waitingReason,
    failureReason: null,
    currentVersion,
    timeoutAt: null,
  };
}

/** The task after `update` (what the writer makes of the row, as far as transitions care). */
export function applyUpdate(state: TaskState, update: TaskUpdate): TaskState {
  switch (update.kind) {
    case 'pushed':
      return { ...state, status: 'PUSHED', progress: 0, pushMessageId: update.messageId, waitingReason: null, timeoutAt: null };
    case 'progress':
      return {
        ...state,
        status: 'IN_PROGRESS',
        progress: Math.max(state.progress, update.progress),
        currentVersion: update.currentVersion ?? state.currentVersion,
      };
    case 'version':
      return { ...state, currentVersion: update.currentVersion };
    case 'succeeded':
      return { ...state, status: 'SUCCEEDED', progress: 100, currentVersion: update.currentVersion, timeoutAt: null };
    case 'failed':
      return {
        ...state,
        status: 'FAILED',
        failureReason: update.reason,
        waitingReason: null,
        currentVersion: update.currentVersion ?? state.currentVersion,
        timeoutAt: null,
      };
    case 'requeued':
      return newAttempt(state, update.waitingReason, update.currentVersion ?? state.currentVersion);
    case 'retried':
      return newAttempt(state, null, state.currentVersion);
    case 'waiting':
      return { ...state, waitingReason: update.waitingReason };
    case 'timeoutMoved':
    case 'removed':
      return state;
  }
}

/** DESIGN §3's table: what `event` does to a task in `state` of a job in `job`. */
export function transition(state: TaskState, event: TaskEvent, job: JobContext): Transition {
  const { status } = state;
  switch (event.type) {
    case 'push': {
      if (status !== 'TO_BE_PUSHED') return refuse('NOT_WAITING');
      // A device is never pushed before its wave is active (the engine selects by wave too).
      if (state.wave !== null && (job.pushableWave === null || state.wave > job.pushableWave)) return refuse('WAVE_NOT_STARTED');
      if (event.refusedBy) return changed(state, { kind: 'failed', reason: event.refusedBy.reason, detail: event.refusedBy.detail.slice(0, MAX_DETAIL) });
      return changed(state, { kind: 'pushed', messageId: event.messageId, timeoutMs: event.timeoutMinutes * job.minuteMs });
    }
    case 'deviceAccepted':
      // An accept changes nothing until the device reports progress.
      if (status !== 'PUSHED' || state.pushMessageId !== event.messageId) return refuse('STALE_REPLY');
      return unchanged(state);
    case 'deviceDeclined': {
      if (status !== 'PUSHED' || state.pushMessageId !== event.messageId) return refuse('STALE_REPLY');
      const detail = `Device replied ${event.code}${event.message ? `: ${event.message.slice(0, 500)}` : ''}`;
      return changed(state, failure(state, job, 'DEVICE_IGNORED', detail));
    }
    case 'progress': {
      if (status === 'TO_BE_PUSHED') return refuse('NOT_STARTED');
      if (isFinalStatus(status)) return refuse('NO_TASK');
      if (event.outcome.kind === 'failed') {
        return changed(state, failure(state, job, event.outcome.reason, event.desc || `Device reported step ${event.step}`));
      }
      if (status === 'IN_PROGRESS' && event.outcome.percent <= state.progress) return unchanged(state);
      return changed(state, { kind: 'progress', progress: Math.max(state.progress, event.outcome.percent) });
    }
    case 'inform': {
      if (!inFlight(status)) return refuse('NOT_IN_FLIGHT');
      if (event.version === event.targetVersion) return changed(state, { kind: 'succeeded', currentVersion: event.version });
      if (event.version === state.currentVersion) return unchanged(state);
      return changed(state, { kind: 'version', currentVersion: event.version });
    }
    case 'cancel':
    case 'jobCancelled': {
      if (status === 'TO_BE_PUSHED' || status === 'PUSHED') {
        return changed(state, { kind: 'failed', reason: 'CANCELLED_BY_USER', detail: `Cancelled by ${event.by}`.slice(0, MAX_DETAIL) }, status === 'PUSHED');
      }
      // A cancelled job lets its devices In Progress finish and report as usual.
      if (event.type === 'jobCancelled') return unchanged(state);
      return refuse(status === 'IN_PROGRESS' ? 'IN_PROGRESS' : 'ALREADY_FINISHED');
    }
    case 'retry':
      if (status !== 'FAILED') return refuse('NOT_FAILED');
      return changed(state, { kind: 'retried', deviceId: event.deviceId });
    case 'timeout': {
      if (!inFlight(status)) return refuse('NOT_IN_FLIGHT');
      if (state.timeoutAt === null || state.timeoutAt > event.now) return refuse('NOT_DUE');
      const detail = `No result within the timeout of ${event.timeoutMinutes} minutes (last state: ${status === 'PUSHED' ? 'Pushed' : 'In Progress'})`;
      return changed(state, failure(state, job, 'TIMEOUT', detail), true);
    }
    case 'timeoutChanged':
      if (!inFlight(status)) return unchanged(state);
      return changed(state, { kind: 'timeoutMoved', timeoutMs: event.timeoutMinutes * job.minuteMs });
    case 'scopeLeft':
      // Tasks already pushed or final stay: the operator sees what happened to them.
      if (status !== 'TO_BE_PUSHED') return unchanged(state);
      return changed(state, { kind: 'removed' });
    case 'jobStopped':
      // Nothing new is pushed; why a task waits follows from the job (rules.ts effectiveWaitingReason).
      return unchanged(state);
    case 'waitingRefresh':
      if (status !== 'TO_BE_PUSHED') return refuse('NOT_WAITING');
      if (state.waitingReason === event.reason) return unchanged(state);
      return changed(state, { kind: 'waiting', waitingReason: event.reason });
  }
}

/**
 * Events about the whole job whose outcome for a task depends on its status alone (not its
 * progress, attempt or push): their changes can be written for all of a job's tasks in one
 * set-based statement (write.ts writeJobTaskChanges) instead of task by task.
 */
export type JobLevelEvent = Extract<TaskEvent, { type: 'jobCancelled' | 'jobStopped' }>;

export interface StatusDecision {
  /** What to write for a task in this status (null: nothing). */
  update: TaskUpdate | null;
  /** Its device has an upgrade in flight that must be told to stop. */
  sendCancel: boolean;
}

/**
 * transition() of a job-level event, for each status at once. Decided by transition() itself on a
 * task of each status; the unit test checks for any task that this is what transition() decides.
 */
export function transitionsByStatus(event: JobLevelEvent, job: JobContext): Record<TaskStatus, StatusDecision | TaskRefusal> {
  const decisions = {} as Record<TaskStatus, StatusDecision | TaskRefusal>;
  for (const status of TASK_STATUSES) {
    const t = transition({ ...ANY_TASK, status }, event, job);
    decisions[status] = t.ok ? { update: t.update, sendCancel: t.sendCancel } : t.refusal;
  }
  return decisions;
}

/** A task of no particular progress, attempt or push (for transitionsByStatus). */
const ANY_TASK: Omit<TaskState, 'status'> = {
  progress: 0,
  attempt: 1,
  pushMessageId: null,
  currentVersion: null,
  waitingReason: null,
  failureReason: null,
  timeoutAt: null,
  wave: null,
};

/**
 * Several changes decided for one task in one go (a batch replaying a device's reports) as the one
 * change to write: the last change of status wins, progress keeps its highest value and the
 * version its latest.
 */
export function combineUpdates(first: TaskUpdate, second: TaskUpdate): TaskUpdate {
  if (second.kind === 'progress' && first.kind === 'progress') {
    return { kind: 'progress', progress: Math.max(first.progress, second.progress), currentVersion: second.currentVersion ?? first.currentVersion };
  }
  if (second.kind === 'progress' && first.kind === 'version') {
    return { ...second, currentVersion: second.currentVersion ?? first.currentVersion };
  }
  if (second.kind === 'version' && first.kind === 'progress') return { ...first, currentVersion: second.currentVersion };
  if (second.kind === 'version' && first.kind === 'version') return second;
  const version = versionOf(second) ?? versionOf(first);
  if ((second.kind === 'failed' || second.kind === 'requeued') && version !== undefined) return { ...second, currentVersion: version };
  return second;
}

function versionOf(update: TaskUpdate): string | undefined {
  return 'currentVersion' in update ? update.currentVersion : undefined;
}

/**
 * The writer's rule (domain/tasks/write.ts), for tests: an update decided from `from` is applied
 * only if the task is still in that status; progress never goes down.
 */
export function applyConditionally(current: TaskState, from: TaskStatus, update: TaskUpdate | null): TaskState {
  if (update === null || current.status !== from) return current;
  return applyUpdate(current, update);
}

/** Why a device was not cancelled (cancelUpgrade's notCancelled list). */
export type NotCancelledReason = 'NOT_IN_JOB' | 'IN_PROGRESS' | 'ALREADY_FINISHED';
/** Why a device was not retried (retryUpgrade's notRetried list). */
export type NotRetriedReason = 'NOT_IN_JOB' | 'NOT_FAILED';

/** The refusal for a device the job has no task for. */
export const NOT_IN_JOB = { reason: 'NOT_IN_JOB', message: 'The device is not part of this job.' } as const;
