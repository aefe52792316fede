import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TaskStatus } from '../../db/schema.js';
import {
  applyConditionally,
  combineUpdates,
  type JobContext,
  type TaskEvent,
  type TaskEventType,
  type TaskState,
  type Transition,
  transition,
  transitionsByStatus,
} from './transitions.js';

const job: JobContext = { status: 'RUNNING', retryCount: 0, retryIntervalMinutes: 0, minuteMs: 60_000, pushableWave: null };
const retrying: JobContext = { ...job, retryCount: 2, retryIntervalMinutes: 5 };

const base: TaskState = {
  status: 'TO_BE_PUSHED',
  progress: 0,
  attempt: 1,
  pushMessageId: null,
  currentVersion: '1.0',
  waitingReason: 'OFFLINE',
  failureReason: null,
  timeoutAt: null,
  wave: null,
};
const STATES: Record<TaskStatus, TaskState> = {
  TO_BE_PUSHED: base,
  PUSHED: { ...base, status: 'PUSHED', pushMessageId: 'p1', waitingReason: null, timeoutAt: new Date('2030-01-01T01:00:00Z') },
  IN_PROGRESS: { ...base, status: 'IN_PROGRESS', progress: 40, pushMessageId: 'p1', waitingReason: null, timeoutAt: new Date('2030-01-01T01:00:00Z') },
  SUCCEEDED: { ...base, status: 'SUCCEEDED', progress: 100, pushMessageId: 'p1', currentVersion: '2.0', waitingReason: null },
  FAILED: { ...base, status: 'FAILED', pushMessageId: 'p1', waitingReason: null, failureReason: 'DOWNLOAD_FAILED' },
};

const afterTimeout = new Date('2030-01-01T02:00:00Z');
const EVENTS: Record<TaskEventType, TaskEvent> = {
  push: { type: 'push', messageId: 'p2', timeoutMinutes: 30 },
  deviceAccepted: { type: 'deviceAccepted', messageId: 'p1' },
  deviceDeclined: { type: 'deviceDeclined', messageId: 'p1', code: 500, message: 'busy' },
  progress: { type: 'progress', step: '60', outcome: { kind: 'progress', percent: 60 } },
  inform: { type: 'inform', version: '2.0', targetVersion: '2.0' },
  cancel: { type: 'cancel', by: 'Ada' },
  retry: { type: 'retry', deviceId: 'd1' },
  timeout: { type: 'timeout', now: afterTimeout, timeoutMinutes: 60 },
  timeoutChanged: { type: 'timeoutChanged', timeoutMinutes: 10 },
  scopeLeft: { type: 'scopeLeft' },
  jobStopped: { type: 'jobStopped' },
  jobCancelled: { type: 'jobCancelled', by: 'Ada' },
  waitingRefresh: { type: 'waitingRefresh', reason: 'CONCURRENCY_LIMIT' },
};

/** The outcome in one word: the update's kind (+ reason), "none", or the refusal code. */
function outcome(t: Transition): string {
  if (!t.ok) return `refused ${t.refusal.code}`;
  if (!t.update) return 'none';
  const reason = t.update.kind === 'failed' ? ` ${t.update.reason}` : '';
  return `${t.update.kind}${reason}${t.sendCancel ? ' +cancel' : ''}`;
}

/** DESIGN §3 as a table: state × event → outcome (job RUNNING, no retries left). */
const TABLE: Record<TaskEventType, Record<TaskStatus, string>> = {
  push: {
    TO_BE_PUSHED: 'pushed',
    PUSHED: 'refused NOT_WAITING',
    IN_PROGRESS: 'refused NOT_WAITING',
    SUCCEEDED: 'refused NOT_WAITING',
    FAILED: 'refused NOT_WAITING',
  },
  deviceAccepted: {
    TO_BE_PUSHED: 'refused STALE_REPLY',
    PUSHED: 'none',
    IN_PROGRESS: 'refused STALE_REPLY',
    SUCCEEDED: 'refused STALE_REPLY',
    FAILED: 'refused STALE_REPLY',
  },
  deviceDeclined: {
    TO_BE_PUSHED: 'refused STALE_REPLY',
    PUSHED: 'failed DEVICE_IGNORED',
    IN_PROGRESS: 'refused STALE_REPLY',
    SUCCEEDED: 'refused STALE_REPLY',
    FAILED: 'refused STALE_REPLY',
  },
  progress: { TO_BE_PUSHED: 'refused NOT_STARTED', PUSHED: 'progress', IN_PROGRESS: 'progress', SUCCEEDED: 'refused NO_TASK', FAILED: 'refused NO_TASK' },
  inform: {
    TO_BE_PUSHED: 'refused NOT_IN_FLIGHT',
    PUSHED: 'succeeded',
    IN_PROGRESS: 'succeeded',
    SUCCEEDED: 'refused NOT_IN_FLIGHT',
    FAILED: 'refused NOT_IN_FLIGHT',
  },
  cancel: {
    TO_BE_PUSHED: 'failed CANCELLED_BY_USER',
    PUSHED: 'failed CANCELLED_BY_USER +cancel',
    IN_PROGRESS: 'refused IN_PROGRESS',
    SUCCEEDED: 'refused ALREADY_FINISHED',
    FAILED: 'refused ALREADY_FINISHED',
  },
  retry: {
    TO_BE_PUSHED: 'refused NOT_FAILED',
    PUSHED: 'refused NOT_FAILED',
    IN_PROGRESS: 'refused NOT_FAILED',
    SUCCEEDED: 'refused NOT_FAILED',
    FAILED: 'retried',
  },
  timeout: {
    TO_BE_PUSHED: 'refused NOT_IN_FLIGHT',
    PUSHED: 'failed TIMEOUT +cancel',
    IN_PROGRESS: 'failed TIMEOUT +cancel',
    SUCCEEDED: 'refused NOT_IN_FLIGHT',
    FAILED: 'refused NOT_IN_FLIGHT',
  },
  timeoutChanged: { TO_BE_PUSHED: 'none', PUSHED: 'timeoutMoved', IN_PROGRESS: 'timeoutMoved', SUCCEEDED: 'none', FAILED: 'none' },
  scopeLeft: { TO_BE_PUSHED: 'removed', PUSHED: 'none', IN_PROGRESS: 'none', SUCCEEDED: 'none', FAILED: 'none' },
  jobStopped: { TO_BE_PUSHED: 'none', PUSHED: 'none', IN_PROGRESS: 'none', SUCCEEDED: 'none', FAILED: 'none' },
  jobCancelled: {
    TO_BE_PUSHED: 'failed CANCELLED_BY_USER',
    PUSHED: 'failed CANCELLED_BY_USER +cancel',
    IN_PROGRESS: 'none',
    SUCCEEDED: 'none',
    FAILED: 'none',
  },
  waitingRefresh: {
    TO_BE_PUSHED: 'waiting',
    PUSHED: 'refused NOT_WAITING',
    IN_PROGRESS: 'refused NOT_WAITING',
    SUCCEEDED: 'refused NOT_WAITING',
    FAILED: 'refused NOT_WAITING',
  },
};

describe('the task state machine', () => {
  for (const [type, event] of Object.entries(EVENTS) as [TaskEventType, TaskEvent][]) {
    for (const [status, state] of Object.entries(STATES) as [TaskStatus, TaskState][]) {
      it(`${type} on ${status}: ${TABLE[type][status]}`, () => {
        expect(outcome(transition(state, event, job))).toBe(TABLE[type][status]);
      });
    }
  }

  it('never moves a final task except by an explicit retry', () => {
    for (const status of ['SUCCEEDED', 'FAILED'] as const) {
      for (const event of Object.values(EVENTS)) {
        const t = transition(STATES[status], event, job);
        if (t.ok && t.next.status !== status) expect(event.type).toBe('retry');
      }
    }
  });

  it('maps progress steps, keeps the device text, and never lowers progress', () => {
    const failed = transition(
      STATES.IN_PROGRESS,
      { type: 'progress', step: '-2', outcome: { kind: 'failed', reason: 'DOWNLOAD_FAILED' }, desc: 'HTTP 500' },
      job,
    );
    expect(failed.ok && failed.update).toEqual({ kind: 'failed', reason: 'DOWNLOAD_FAILED', detail: 'HTTP 500' });
    const noDesc = transition(STATES.PUSHED, { type: 'progress', step: '-7', outcome: { kind: 'failed', reason: 'UNDEFINED' } }, job);
    expect(noDesc.ok && noDesc.update).toEqual({ kind: 'failed', reason: 'UNDEFINED', detail: 'Device reported step -7' });
    const lower = transition(STATES.IN_PROGRESS, { type: 'progress', step: '10', outcome: { kind: 'progress', percent: 10 } }, job);
    expect(outcome(lower)).toBe('none');
    const zero = transition(STATES.PUSHED, { type: 'progress', step: '0', outcome: { kind: 'progress', percent: 0 } }, job);
    expect(zero.ok && zero.next).toMatchObject({ status: 'IN_PROGRESS', progress: 0 });
  });

  it('informs of another version change only the version; a stale or foreign reply changes nothing', () => {
    const other = transition(STATES.IN_PROGRESS, { type: 'inform', version: '1.5', targetVersion: '2.0' }, job);
    expect(other.ok && other.update).toEqual({ kind: 'version', currentVersion: '1.5' });
    expect(outcome(transition(STATES.IN_PROGRESS, { type: 'inform', version: '1.0', targetVersion: '2.0' }, job))).toBe('none');
    expect(outcome(transition(STATES.PUSHED, { type: 'deviceDeclined', messageId: 'old', code: 500 }, job))).toBe('refused STALE_REPLY');
  });

  it('applies the retry policy to retryable failures only, while the job takes retries', () => {
    const declined = transition(STATES.PUSHED, EVENTS.deviceDeclined, retrying);
    expect(declined.ok && declined.update).toEqual({
      kind: 'requeued',
      detail: 'Attempt 1 of 3 failed (DEVICE_IGNORED): Device replied 500: busy',
      retryDelayMs: 5 * 60_000,
      waitingReason: 'RETRY_INTERVAL',
    });
    expect(declined.ok && declined.next).toMatchObject({ status: 'TO_BE_PUSHED', attempt: 2, pushMessageId: null });
    // The last attempt fails for good.
    expect(outcome(transition({ ...STATES.PUSHED, attempt: 3 }, EVENTS.deviceDeclined, retrying))).toBe('failed DEVICE_IGNORED');
    // A cancel is never retried; a cancelled job retries nothing.
    expect(outcome(transition(STATES.PUSHED, EVENTS.cancel, retrying))).toBe('failed CANCELLED_BY_USER +cancel');
    expect(outcome(transition(STATES.IN_PROGRESS, EVENTS.timeout, { ...retrying, status: 'CANCELLED' }))).toBe('failed TIMEOUT +cancel');
    expect(outcome(transition(STATES.IN_PROGRESS, EVENTS.timeout, retrying))).toBe('requeued +cancel');
    // No interval: no waiting reason.
    const now = transition(STATES.PUSHED, EVENTS.deviceDeclined, { ...retrying, retryIntervalMinutes: 0 });
    expect(now.ok && now.update).toMatchObject({ kind: 'requeued', retryDelayMs: 0, waitingReason: null });
  });

  it('counts durations in job minutes (ENGINE_MINUTE_MS)', () => {
    const shortMinute = { ...job, minuteMs: 100 };
    expect(transition(STATES.TO_BE_PUSHED, EVENTS.push, shortMinute)).toMatchObject({ update: { kind: 'pushed', timeoutMs: 3000 } });
    expect(transition(STATES.PUSHED, EVENTS.timeoutChanged, shortMinute)).toMatchObject({ update: { kind: 'timeoutMoved', timeoutMs: 1000 } });
    expect(transition(STATES.PUSHED, EVENTS.deviceDeclined, { ...retrying, minuteMs: 100 })).toMatchObject({ update: { retryDelayMs: 500 } });
  });

  it('fails a push that a push-time check refuses, and leaves a timeout that has not come', () => {
    const refused = transition(STATES.TO_BE_PUSHED, { ...EVENTS.push, refusedBy: { reason: 'DEVICE_NOT_FOUND', detail: 'gone' } } as TaskEvent, retrying);
    expect(outcome(refused)).toBe('failed DEVICE_NOT_FOUND');
    expect(outcome(transition(STATES.PUSHED, { ...EVENTS.timeout, now: new Date('2030-01-01T00:59:00Z') } as TaskEvent, job))).toBe('refused NOT_DUE');
    expect(outcome(transition(STATES.TO_BE_PUSHED, { type: 'waitingRefresh', reason: 'OFFLINE' }, job))).toBe('none');
  });

  it('combines a batch of changes to one task into the one change to write', () => {
    expect(combineUpdates({ kind: 'progress', progress: 20 }, { kind: 'progress', progress: 60 })).toEqual({ kind: 'progress', progress: 60 });
    expect(combineUpdates({ kind: 'version', currentVersion: '1.5' }, { kind: 'progress', progress: 10 })).toEqual({
      kind: 'progress',
      progress: 10,
      currentVersion: '1.5',
    });
    expect(combineUpdates({ kind: 'progress', progress: 10 }, { kind: 'version', currentVersion: '1.5' })).toEqual({
      kind: 'progress',
      progress: 10,
      currentVersion: '1.5',
    });
    expect(combineUpdates({ kind: 'version', currentVersion: '1.5' }, { kind: 'failed', reason: 'WRITE_FAILED', detail: 'x' })).toEqual({
      kind: 'failed',
      reason: 'WRITE_FAILED',
      detail: 'x',
      currentVersion: '1.5',
    });
    expect(combineUpdates({ kind: 'progress', progress: 90 }, { kind: 'succeeded', currentVersion: '2.0' })).toEqual({
      kind: 'succeeded',
      currentVersion: '2.0',
    });
  });
});

// ── Races as interleavings ──────────────────────────────────────────────────────────────────────

interface Write {
  event: TaskEvent;
  before: TaskState;
  after: TaskState;
}

interface Run {
  name: string;
  end: TaskState;
  /** The writes that changed the task, in order. */
  writes: Write[];
}

/**
 * Every way two actors can meet on one task: one after the other (each decides from what the other
 * wrote), or both deciding from the same state and writing in either order (what two transactions
 * that read the same row do; the writer's condition on `from` settles it).
 */
function interleavings(start: TaskState, a: TaskEvent, b: TaskEvent, ctx: JobContext): Run[] {
  const serial = (name: string, events: TaskEvent[]): Run => {
    let state = start;
    const writes: Write[] = [];
    for (const event of events) {
      const t = transition(state, event, ctx);
      if (!t.ok || !t.update) continue;
      writes.push({ event, before: state, after: t.next });
      state = t.next;
    }
    return { name, end: state, writes };
  };
  const decided = [a, b].map((event) => ({ event, t: transition(start, event, ctx) }));
  const concurrent = (name: string, order: typeof decided): Run => {
    let state = start;
    const writes: Write[] = [];
    for (const { event, t } of order) {
      if (!t.ok) continue;
      const next = applyConditionally(state, start.status, t.update);
      if (next !== state) writes.push({ event, before: state, after: next });
      state = next;
    }
    return { name, end: state, writes };
  };
  return [
    serial('a then b', [a, b]),
    serial('b then a', [b, a]),
    concurrent('both decide, a writes first', decided),
    concurrent('both decide, b writes first', [...decided].reverse()),
  ];
}

const FINAL = new Set<TaskStatus>(['SUCCEEDED', 'FAILED']);
const REPORTS: TaskEvent[] = [
  EVENTS.progress,
  { type: 'progress', step: '-2', outcome: { kind: 'failed', reason: 'DOWNLOAD_FAILED' } },
  { type: 'progress', step: '-4', outcome: { kind: 'failed', reason: 'WRITE_FAILED' } },
  EVENTS.inform,
  { type: 'inform', version: '1.5', targetVersion: '2.0' },
  EVENTS.deviceDeclined,
];
const label = (e: TaskEvent) => (e.type === 'progress' ? `progress ${e.step}` : e.type === 'inform' ? `inform ${e.version}` : e.type);

/** The task entered a final state at most once, and nothing wrote to it after that. */
function expectOneFinalState(run: Run): void {
  const entered = run.writes.filter((w) => !FINAL.has(w.before.status) && FINAL.has(w.after.status));
  expect(entered.length, run.name).toBeLessThanOrEqual(1);
  const at = run.writes.findIndex((w) => FINAL.has(w.after.status));
  if (at >= 0) expect(run.writes.length - 1, `${run.name}: a write after the final state`).toBe(at);
}

describe('races', () => {
  for (const status of ['TO_BE_PUSHED', 'PUSHED', 'IN_PROGRESS'] as const) {
    for (const report of REPORTS) {
      for (const cancel of [EVENTS.cancel, EVENTS.jobCancelled]) {
        it(`${cancel.type} and ${label(report)} on a ${status} task end in exactly one final state`, () => {
          for (const run of interleavings(STATES[status], cancel, report, job)) {
            expectOneFinalState(run);
            // Cancelled only if the cancel's own write made the task final; never cancelled while flashing.
            if (run.end.failureReason === 'CANCELLED_BY_USER') {
              expect(run.writes.at(-1)?.event, run.name).toBe(cancel);
              expect(run.writes.at(-1)?.before.status, run.name).not.toBe('IN_PROGRESS');
            }
          }
        });
      }
    }
  }

  it('cancel against a concurrent report: whichever writes first decides, the other changes nothing', () => {
    const failedReport = REPORTS[1];
    const runs = new Map(interleavings(STATES.PUSHED, EVENTS.cancel, failedReport, job).map((r) => [r.name, r]));
    expect(runs.get('a then b')?.end).toMatchObject({ status: 'FAILED', failureReason: 'CANCELLED_BY_USER' });
    expect(runs.get('b then a')?.end).toMatchObject({ status: 'FAILED', failureReason: 'DOWNLOAD_FAILED' });
    expect(runs.get('both decide, a writes first')?.end).toMatchObject({ status: 'FAILED', failureReason: 'CANCELLED_BY_USER' });
    expect(runs.get('both decide, b writes first')?.end).toMatchObject({ status: 'FAILED', failureReason: 'DOWNLOAD_FAILED' });
    for (const run of runs.values()) expect(run.writes, run.name).toHaveLength(1);
    // A progress report that got there first leaves the device flashing: the cancel is not applied.
    const progress = new Map(interleavings(STATES.PUSHED, EVENTS.cancel, EVENTS.progress, job).map((r) => [r.name, r]));
    expect(progress.get('both decide, b writes first')?.end).toMatchObject({ status: 'IN_PROGRESS', failureReason: null });
    expect(progress.get('b then a')?.end).toMatchObject({ status: 'IN_PROGRESS', failureReason: null });
  });

  it('timeout against a concurrent report: one outcome, and a report of the timed-out attempt never completes its retry', () => {
    for (const status of ['PUSHED', 'IN_PROGRESS'] as const) {
      for (const report of REPORTS) {
        for (const ctx of [job, retrying]) {
          for (const run of interleavings(STATES[status], EVENTS.timeout, report, ctx)) {
            const what = `${status}, ${label(report)}, retries ${ctx.retryCount}: ${run.name}`;
            expectOneFinalState(run);
            if (run.writes[0]?.event === EVENTS.timeout) {
              // The timeout won: the task failed or waits for its retry, whatever the device says next.
              expect(run.writes, what).toHaveLength(1);
              expect(run.end.status === 'FAILED' ? run.end.failureReason : run.end.status, what).toBe(ctx.retryCount ? 'TO_BE_PUSHED' : 'TIMEOUT');
            }
            if (run.end.status === 'SUCCEEDED')
              expect(
                run.writes.map((w) => w.event),
                what,
              ).not.toContain(EVENTS.timeout);
          }
        }
      }
    }
  });
});

// ── Any sequence of events ──────────────────────────────────────────────────────────────────────

const eventArb: fc.Arbitrary<TaskEvent> = fc.oneof(
  fc.constantFrom(...Object.values(EVENTS)),
  fc.integer({ min: 0, max: 100 }).map((percent) => ({ type: 'progress', step: String(percent), outcome: { kind: 'progress', percent } }) as TaskEvent),
  fc.constantFrom('p1', 'p2', 'old').map((messageId) => ({ type: 'deviceDeclined', messageId, code: 404 }) as TaskEvent),
  fc.constantFrom('1.0', '1.5', '2.0').map((version) => ({ type: 'inform', version, targetVersion: '2.0' }) as TaskEvent),
);

describe('any sequence of events', () => {
  it('keeps a final task final until a retry, never lowers progress within an attempt, never lowers the attempt', () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.values(STATES)), fc.array(eventArb, { maxLength: 30 }), fc.constantFrom(job, retrying), (start, events, ctx) => {
        let state = start;
        for (const event of events) {
          const t = transition(state, event, ctx);
          if (!t.ok) continue;
          const next = t.next;
          if (FINAL.has(state.status) && next.status !== state.status) expect(event.type).toBe('retry');
          if (next.attempt === state.attempt && next.status === state.status) expect(next.progress).toBeGreaterThanOrEqual(state.progress);
          expect(next.attempt).toBeGreaterThanOrEqual(state.attempt);
          // An update that is null leaves the task as it was.
          if (t.update === null) expect(next).toEqual(state);
          state = next;
        }
      }),
      { numRuns: 500 },
    );
  });
});

// ── Job-level events, decided per status ────────────────────────────────────────────────────────

const taskArb: fc.Arbitrary<TaskState> = fc.record({
  status: fc.constantFrom(...(Object.keys(STATES) as TaskStatus[])),
  progress: fc.integer({ min: 0, max: 100 }),
  attempt: fc.integer({ min: 1, max: 6 }),
  pushMessageId: fc.option(fc.constantFrom('p1', 'p2')),
  currentVersion: fc.option(fc.constantFrom('1.0', '2.0')),
  waitingReason: fc.option(fc.constantFrom('OFFLINE', 'CONCURRENCY_LIMIT', 'JOB_STOPPED') as fc.Arbitrary<TaskState['waitingReason'] & string>),
  failureReason: fc.option(fc.constantFrom('DOWNLOAD_FAILED', 'TIMEOUT', 'CANCELLED_BY_USER') as fc.Arbitrary<TaskState['failureReason'] & string>),
  timeoutAt: fc.option(fc.date({ min: new Date('2029-01-01T00:00:00Z'), max: new Date('2031-01-01T00:00:00Z'), noInvalidDate: true })),
  wave: fc.option(fc.integer({ min: 0, max: 3 })),
});

describe('transitionsByStatus (the set-based writer of job-level events)', () => {
  it('decides for every task what transition() decides for it: the outcome depends on the status alone', () => {
    const events = [{ type: 'jobCancelled', by: 'Ada' }, { type: 'jobStopped' }] as const;
    fc.assert(
      fc.property(taskArb, fc.constantFrom(...events), fc.constantFrom(job, retrying), (task, event, ctx) => {
        const perTask = transition(task, event, ctx);
        const byStatus = transitionsByStatus(event, ctx)[task.status];
        if (!perTask.ok) expect(byStatus).toEqual(perTask.refusal);
        else expect(byStatus).toEqual({ update: perTask.update, sendCancel: perTask.sendCancel });
      }),
      { numRuns: 1000 },
    );
  });

  it('cancels a job: To be Pushed and Pushed fail as Cancelled by user (Pushed are told to stop), the others stay', () => {
    const decisions = transitionsByStatus({ type: 'jobCancelled', by: 'Ada' }, job);
    const failed = { kind: 'failed', reason: 'CANCELLED_BY_USER', detail: 'Cancelled by Ada' };
    expect(decisions).toEqual({
      TO_BE_PUSHED: { update: failed, sendCancel: false },
      PUSHED: { update: failed, sendCancel: true },
      IN_PROGRESS: { update: null, sendCancel: false },
      SUCCEEDED: { update: null, sendCancel: false },
      FAILED: { update: null, sendCancel: false },
    });
  });
});

describe('phased rollouts: a device is never pushed before its wave is active', () => {
  const planned = (pushableWave: number): JobContext => ({ ...job, pushableWave });
  const push = { type: 'push', messageId: 'p2', timeoutMinutes: 30 } as const;
  it.each([
    // wave, pushable wave, outcome
    [0, 0, 'pushed'],
    [0, 2, 'pushed'],
    [2, 2, 'pushed'],
    [3, 2, 'refused WAVE_NOT_STARTED'],
    [0, -1, 'refused WAVE_NOT_STARTED'],
  ] as const)('a task of wave %i when waves up to %i may be pushed: %s', (wave, pushable, expected) => {
    expect(outcome(transition({ ...base, wave }, push, planned(pushable)))).toBe(expected);
  });
  it('a task with a wave in a job without a plan is refused (the wave says a plan exists)', () => {
    expect(outcome(transition({ ...base, wave: 0 }, push, job))).toBe('refused WAVE_NOT_STARTED');
  });
  it('push-time refusals apply only once the wave is active', () => {
    const refusedBy = { reason: 'DEVICE_NOT_FOUND', detail: 'gone' } as const;
    expect(outcome(transition({ ...base, wave: 1 }, { ...push, refusedBy }, planned(0)))).toBe('refused WAVE_NOT_STARTED');
    expect(outcome(transition({ ...base, wave: 1 }, { ...push, refusedBy }, planned(1)))).toBe('failed DEVICE_NOT_FOUND');
  });
  it('every other event ignores waves: its outcome is the same for a task of any wave', () => {
    fc.assert(
      fc.property(
        taskArb,
        fc.constantFrom(...Object.values(EVENTS).filter((e) => e.type !== 'push')),
        fc.integer({ min: -1, max: 3 }),
        (task, event, pushable) => {
          const withoutPlan = transition({ ...task, wave: null }, event, job);
          const withPlan = transition(task, event, planned(pushable));
          expect(outcome(withPlan)).toBe(outcome(withoutPlan));
        },
      ),
      { numRuns: 500 },
    );
  });
  it('a wave stopped for approval still retries failures of its devices in flight', () => {
    const t = transition(STATES.PUSHED, EVENTS.deviceDeclined, { ...retrying, status: 'WAITING_FOR_APPROVAL', pushableWave: 0 });
    expect(outcome(t)).toBe('requeued');
  });
});
