/**
 * The rollout engine: a scheduler driven by events ('engine:kick': job created, edited, started,
 * retried; devices registered, online, on a new version; tasks ended) and by a periodic sweep
 * (ENGINE_SWEEP_MS) for what no event announces: timeouts, start times, windows, retry intervals.
 *
 * One pass, in order: start due SCHEDULED jobs; time out overdue tasks; take matching devices into
 * INCREMENTAL jobs (when devices changed, and every 30 s); push every running job as far as its
 * limits allow; finish or abort the jobs whose tasks ended; refresh waiting reasons; re-send pushes
 * that went unanswered. Passes never overlap within an instance; a kick during a pass asks for one
 * more. All decisions are made from the database under its locks, so instances may run passes at
 * the same time (see push.ts); memory holds only throttles and hints.
 */
import type { DeviceCommands } from '../devices/commands.js';
import type { WaitingReason } from '../db/schema.js';
import { otaJobs } from '../db/schema.js';
import type { EngineKickEvent } from '../events/bus.js';
import { runWithLogContext } from '../observability/context.js';
import type { Logger } from '../observability/logger.js';
import type { AppServices } from '../services.js';
import { inArray } from 'drizzle-orm';
import { startScheduledJobs, takeInMatchingDevices } from './lifecycle.js';
import { pushWaitingTasks, type PushOutcome } from './push.js';
import { PushResender } from './repush.js';
import { settleJob } from './settle.js';
import { advanceRollout } from './waves.js';
import { markTimedOutTasks } from './timeouts.js';
import { refreshWaitingReasons } from './waiting-reasons.js';

const KICK_DELAY_MS = 10;
/**
 * Passes asked for while one runs start at least this long after it: a stream of reports must not
 * turn the engine into a busy loop that starves the database (PGlite has one connection).
 */
const MIN_PASS_GAP_MS = 100;
const INCREMENTAL_EVERY_MS = 30_000;
const SETTLE_ALL_EVERY_MS = 10_000;
const WAITING_REFRESH_EVERY_MS = 3_000;
/** Push transactions per job and pass at most (each up to PUSH_CHUNK tasks). */
const PUSH_ROUNDS = 20;

export class RolloutEngine {
  private sweepTimer: NodeJS.Timeout | null = null;
  private kickTimer: NodeJS.Timeout | null = null;
  private pass: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private kicks: AsyncIterator<EngineKickEvent> | null = null;
  private readonly jobsToSettle = new Set<string>();
  private devicesChanged = true;
  private lastIncremental = 0;
  private lastSettleAll = 0;
  private readonly waiting = new Map<string, { limit: WaitingReason | null; at: number }>();
  private readonly resender: PushResender;
  private passes = 0;
  /** Requests whose kicks the next pass answers: its lines carry their ids. */
  private readonly kickedBy = new Set<string>();
  private readonly log: Logger;

  constructor(
    private readonly services: AppServices,
    private readonly commands: DeviceCommands,
  ) {
    this.log = services.log.child({ component: 'engine' });
    this.resender = new PushResender(services, commands, services.config.repushAfterMs);
  }

  start(): void {
    const kicks = this.services.events.subscribe('engine:kick')[Symbol.asyncIterator]();
    this.kicks = kicks;
    void (async () => {
      for (let next = await kicks.next(); !next.done; next = await kicks.next()) this.kick(next.value);
    })().catch((error: Error) => this.log.error({ err: error }, 'kick listener ended'));
    this.sweepTimer = setInterval(() => this.requestPass(), Math.max(50, this.services.config.engineSweepMs));
    this.requestPass();
  }

  /** Resolves once the pass in progress (if any) and the one it asked for have run: for tests. */
  async settled(): Promise<void> {
    while (this.pass) await this.pass;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.kickTimer) clearTimeout(this.kickTimer);
    await this.kicks?.return?.();
    await this.settled();
  }

  get passCount(): number {
    return this.passes;
  }

  private kick(event: EngineKickEvent): void {
    if (event.jobId) this.jobsToSettle.add(event.jobId);
    if (event.reqId && this.kickedBy.size < 20) this.kickedBy.add(event.reqId);
    if (/device|registered/.test(event.reason)) this.devicesChanged = true;
    if (this.kickTimer || this.stopped) return;
    // A burst of kicks (a batch of reports) becomes one pass.
    this.kickTimer = setTimeout(() => {
      this.kickTimer = null;
      this.requestPass();
    }, KICK_DELAY_MS);
  }

  private requestPass(): void {
    if (this.stopped) return;
    if (this.pass) {
      this.again = true;
      return;
    }
    this.pass = (async () => {
      try {
        do {
          this.again = false;
          const causedBy = [...this.kickedBy];
          this.kickedBy.clear();
          await runWithLogContext(causedBy.length > 0 ? { causedBy } : {}, async () => {
            const done = await this.runPass();
            // A pass that requests asked for says what it did (debug: passes run several times a second).
            if (causedBy.length > 0) this.log.debug(done, 'engine pass');
          });
          if (this.again) await new Promise((resolve) => setTimeout(resolve, MIN_PASS_GAP_MS));
        } while (this.again && !this.stopped);
      } finally {
        this.pass = null;
      }
    })();
  }

  private async step<T>(name: string, work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (error) {
      this.services.metrics.engineErrors.inc({ step: name });
      if (!this.stopped) this.log.error({ step: name, err: error }, 'engine step failed');
      return undefined;
    }
  }

  private async runPass(): Promise<{ pushed: number; timedOut: number; resent: number }> {
    const { services, commands } = this;
    const { metrics } = services;
    const { config } = services;
    const now = Date.now();
    this.passes++;
    let pushed = 0;

    await this.step('start scheduled jobs', () => startScheduledJobs(services));
    const timedOut = await this.step('time out tasks', () => markTimedOutTasks(services, commands, config.engineMinuteMs));
    if (timedOut) {
      metrics.engineTimeouts.inc(timedOut);
      this.log.info({ tasks: timedOut }, 'tasks timed out');
    }

    if (this.devicesChanged || now - this.lastIncremental >= INCREMENTAL_EVERY_MS) {
      this.devicesChanged = false;
      this.lastIncremental = now;
      await this.step('take in matching devices', () => takeInMatchingDevices(services));
    }

    const running = await this.step('list running jobs', () =>
      services.db
        .select({ id: otaJobs.id, activeWave: otaJobs.activeWave })
        .from(otaJobs)
        .where(inArray(otaJobs.status, ['RUNNING']))
        .orderBy(otaJobs.createdAt),
    );
    for (const { id, activeWave } of running ?? []) {
      if (this.stopped) return { pushed, timedOut: timedOut ?? 0, resent: 0 };
      // A rollout plan's waves move first: a wave whose predecessor just passed is pushed in this pass.
      if (activeWave !== null) await this.step('advance rollout', () => advanceRollout(services, id));
      let outcome: PushOutcome | undefined;
      for (let round = 0; round < PUSH_ROUNDS; round++) {
        outcome = await this.step('push', () =>
          pushWaitingTasks(services, commands, id, { ouConcurrencyCap: config.ouConcurrencyCap, minuteMs: config.engineMinuteMs }),
        );
        if (!outcome) break;
        pushed += outcome.pushed;
        if (outcome.pushed) metrics.enginePushes.inc(outcome.pushed);
        if (outcome.failedAtPush) metrics.enginePushFailures.inc(outcome.failedAtPush);
        if (outcome.pushed || outcome.failedAtPush) this.log.debug({ jobId: id, pushed: outcome.pushed, failedAtPush: outcome.failedAtPush }, 'pushed');
        if (!outcome.more) break;
      }
      if (outcome?.ran) await this.refreshWaiting(id, outcome.limit, now);
    }

    const settleAll = now - this.lastSettleAll >= SETTLE_ALL_EVERY_MS;
    if (settleAll) {
      this.lastSettleAll = now;
      const active = await this.step('list active jobs', () =>
        services.db
          .select({ id: otaJobs.id })
          .from(otaJobs)
          .where(inArray(otaJobs.status, ['RUNNING', 'STOPPED', 'WAITING_FOR_APPROVAL'])),
      );
      for (const { id } of active ?? []) this.jobsToSettle.add(id);
    }
    const toSettle = [...this.jobsToSettle];
    this.jobsToSettle.clear();
    for (const id of toSettle) await this.step('settle job', () => settleJob(services, id));

    const resent = await this.step('re-send pushes', () => this.resender.resendStalePushes());
    if (resent) {
      metrics.engineRepushes.inc(resent);
      this.log.info({ pushes: resent }, 'unanswered pushes sent again');
    }
    metrics.enginePasses.inc();
    return { pushed, timedOut: timedOut ?? 0, resent: resent ?? 0 };
  }

  private async refreshWaiting(jobId: string, limit: WaitingReason | null, now: number): Promise<void> {
    const last = this.waiting.get(jobId);
    if (last && last.limit === limit && now - last.at < WAITING_REFRESH_EVERY_MS) return;
    this.waiting.set(jobId, { limit, at: now });
    await this.step('refresh waiting reasons', () => refreshWaitingReasons(this.services, jobId, limit));
  }
}
