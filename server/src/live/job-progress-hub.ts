/**
 * jobProgress, shared: however many clients watch a job on this instance, its state is read once
 * per interval (not once per client), and each client gets the newest state when it is ready to
 * take it. The first state a client sees is read after it joined, so no change can fall between
 * its initial state and the live ones.
 */
import type { Logger } from '../observability/logger.js';
import { eq } from 'drizzle-orm';
import { Repeater } from 'graphql-yoga';
import type { Executor } from '../db/client.js';
import { type FailureReason, otaJobs } from '../db/schema.js';
import type { JobRow } from '../domain/jobs/settings-view.js';
import { loadFailureReasonCounts, loadStatusCounts } from '../domain/loaders.js';
import type { StatusCounts } from '../domain/tasks/rules.js';
import type { EventBus } from '../events/bus.js';
import { coalesce } from '../events/coalesce.js';
import { LatestChannel } from './latest-channel.js';

export interface JobSnapshot {
  job: JobRow;
  counts: StatusCounts;
  failureReasons: Map<FailureReason, number>;
}

interface Watch {
  channels: Set<LatestChannel<JobSnapshot>>;
  stop: () => Promise<void>;
}

export class JobProgressHub {
  private readonly watches = new Map<string, Watch>();
  /** Watches whose last client left and that are still letting go of their event subscriptions. */
  private readonly stopping = new Set<Promise<void>>();
  /** Orders snapshots by when their read started, so a slow older read never replaces a newer one. */
  private reads = 0;

  constructor(private readonly deps: { db: Executor; events: EventBus; intervalMs: number; log: Logger }) {}

  /**
   * The job's state now and after each change. The caller has checked the job is the client's to
   * see. The client joins the job's watch on its first pull (one returned before that opened
   * nothing); return() leaves it, and ends a pull waiting for the next state.
   */
  watch(jobId: string): AsyncIterableIterator<JobSnapshot> {
    const channel: LatestChannel<JobSnapshot> = new LatestChannel(
      () => this.leave(jobId, channel),
      () => {
        const watch = this.watches.get(jobId) ?? this.start(jobId);
        watch.channels.add(channel);
        void this.read(jobId).then((snapshot) => snapshot && channel.push(snapshot.value, snapshot.version));
      },
    );
    return channel;
  }

  get watchedJobs(): number {
    return this.watches.size;
  }

  async close(): Promise<void> {
    const watches = [...this.watches.values()];
    this.watches.clear();
    await Promise.all(
      watches.map(async (w) => {
        for (const channel of w.channels) await channel.return();
        await w.stop();
      }),
    );
    // Also those already stopping: the event bus closes right after, and must not be used then.
    await Promise.all(this.stopping);
  }

  private start(jobId: string): Watch {
    const { events, intervalMs } = this.deps;
    // 'bus:resync': events of other instances may have been lost while Redis was away.
    const ticks = coalesce(
      Repeater.merge([events.subscribe('job:changed', jobId), events.subscribe('job:tasks', jobId), events.subscribe('bus:resync')]),
      intervalMs,
    );
    const channels = new Set<LatestChannel<JobSnapshot>>();
    const pump = (async () => {
      for await (const _ of ticks) {
        const snapshot = await this.read(jobId);
        if (snapshot) for (const channel of channels) channel.push(snapshot.value, snapshot.version);
      }
    })();
    const watch: Watch = {
      channels,
      stop: async () => {
        await ticks.return?.();
        await pump.catch(() => {});
      },
    };
    this.watches.set(jobId, watch);
    return watch;
  }

  private leave(jobId: string, channel: LatestChannel<JobSnapshot>): void {
    const watch = this.watches.get(jobId);
    if (!watch?.channels.delete(channel)) return;
    if (watch.channels.size === 0) {
      this.watches.delete(jobId);
      const stopped: Promise<void> = watch.stop().finally(() => this.stopping.delete(stopped));
      this.stopping.add(stopped);
    }
  }

  private async read(jobId: string): Promise<{ value: JobSnapshot; version: number } | null> {
    const version = ++this.reads;
    try {
      const { db } = this.deps;
      const [job] = await db.select().from(otaJobs).where(eq(otaJobs.id, jobId));
      if (!job) return null;
      const [counts, failureReasons] = await Promise.all([loadStatusCounts(db, [jobId]), loadFailureReasonCounts(db, [jobId])]);
      return { value: { job, counts: counts.get(jobId)!, failureReasons: failureReasons.get(jobId)! }, version };
    } catch (error) {
      // A failed read (database restarting) skips one state; the next change reads again.
      this.deps.log.warn({ jobId, err: error }, 'jobProgress: reading the job failed');
      return null;
    }
  }
}
