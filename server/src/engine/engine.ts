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
import type { Counters } from '../devices/counters.js';
import type { WaitingReason } from '../db/schema.js';
import { otaJobs } from '../db/schema.js';
import type { EngineKickEvent } from '../events/bus.js';
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

export interface RolloutEngineOptions {
  counters: Counters;
  log: (line: string) => void;
}

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

  constructor(
    private readonly services: AppServices,
    private readonly commands: DeviceCommands,
    private readonly options: RolloutEngineOptions,
  ) {
    this.resender = new PushResender(services, commands, services.config.repushAfterMs);
  }

  start(): void {
    const kicks = this.services.events.subscribe('engine:kick')[Symbol.asyncIterator]();
    this.kicks = kicks;
    void (async () => {
      for (let next = await kicks.next(); !next.done; next = await kicks.next()) this.kick(next.value);
    })().catch((error: Error) => this.options.log(`rollout engine: kick listener ended: ${error.message}`));
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
          await this.runPass();
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
      this.options.counters.add(`updraft_engine_errors_total{step="${name}"}`);
      if (!this.stopped) this.options.log(`rollout engine: ${name} failed: ${(error as Error).message}`);
      return undefined;
    }
  }

  private async runPass(): Promise<void> {
    const { services, commands, options } = this;
    const { config } = services;
    const now = Date.now();
    this.passes++;

    await this.step('start scheduled jobs', () => startScheduledJobs(services));
    const timedOut = await this.step('time out tasks', () => markTimedOutTasks(services, commands, config.engineMinuteMs));
    if (timedOut) options.counters.add('updraft_engine_timeouts_total', timedOut);

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
      if (this.stopped) return;
      // A rollout plan's waves move first: a wave whose predecessor just passed is pushed in this pass.
      if (activeWave !== null) await this.step('advance rollout', () => advanceRollout(services, id));
      let outcome: PushOutcome | undefined;
      for (let round = 0; round < PUSH_ROUNDS; round++) {
        outcome = await this.step('push', () =>
          pushWaitingTasks(services, commands, id, { ouConcurrencyCap: config.ouConcurrencyCap, minuteMs: config.engineMinuteMs }),
        );
        if (!outcome) break;
        if (outcome.pushed) options.counters.add('updraft_engine_pushes_total', outcome.pushed);
        if (outcome.failedAtPush) options.counters.add('updraft_engine_push_failures_total', outcome.failedAtPush);
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
    if (resent) options.counters.add('updraft_engine_repushes_total', resent);
    options.counters.add('updraft_engine_passes_total');
  }

  private async refreshWaiting(jobId: string, limit: WaitingReason | null, now: number): Promise<void> {
    const last = this.waiting.get(jobId);
    if (last && last.limit === limit && now - last.at < WAITING_REFRESH_EVERY_MS) return;
    this.waiting.set(jobId, { limit, at: now });
    await this.step('refresh waiting reasons', () => refreshWaitingReasons(this.services, jobId, limit));
  }
}
