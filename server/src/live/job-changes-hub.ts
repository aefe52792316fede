/**
 * jobDeviceUpdates, shared: per job and instance one reader follows the job's change sequence
 * (once per interval, whatever the number of clients) and keeps the latest batches in a small
 * ring. Each client keeps only its cursor: it takes the next batch from the ring when the ring
 * has it, and reads from the database when it is behind the ring (a reconnect with an old cursor,
 * or a client too slow to keep up). Nothing queues up per client, so a slow client costs no memory
 * and never holds back the others.
 *
 * Numbers are drawn in commit order per job (migration task_change_order), so "changes after my
 * cursor" never skips a change that committed late.
 */
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Executor } from '../db/client.js';
import { changesSince, currentChangeSeq, type TaskRemoval } from '../domain/tasks/changes.js';
import type { Task } from '../domain/tasks/search.js';
import type { EventBus } from '../events/bus.js';
import { coalesce } from '../events/coalesce.js';
import { Repeater } from 'graphql-yoga';
import { ATTACH_DIRECT_SINK, type DirectSink, type DirectSource } from './direct-delivery.js';

function every(ms: number): Repeater<number> {
  return new Repeater<number>(async (push, stop) => {
    const timer = setInterval(() => void push(Date.now()), ms);
    await stop;
    clearInterval(timer);
  });
}

/** Changes with sequence numbers in (after, cursor]. */
export interface ChangeBatch {
  after: number;
  cursor: number;
  tasks: Task[];
  removals: TaskRemoval[];
}

const READ_LIMIT = 1000;

export interface Watch {
  /** Everything up to here has been read into the ring. */
  cursor: number;
  ring: ChangeBatch[];
  ringTasks: number;
  ready: Promise<void>;
  clients: number;
  /**
   * The ring's batch after a cursor, per cursor, until the ring changes: clients at the same cursor
   * receive the very same object, which lets their GraphQL results be shared (shared-results.ts).
   */
  views: Map<number, ChangeBatch>;
  wakers: Set<() => void>;
  stop: () => Promise<void>;
}

export class JobChangesHub {
  private readonly watches = new Map<string, Watch>();
  /** Watches whose last client left and that are still letting go of their event subscriptions. */
  private readonly stopping = new Set<Promise<void>>();

  constructor(
    private readonly deps: {
      db: Executor;
      events: EventBus;
      intervalMs: number;
      /** Most tasks the ring of one job holds. */
      ringTasks: number;
      /** Read at least this often while clients follow the job, events or not. */
      pollMs: number;
      log: Logger;
      metrics: Metrics;
    },
  ) {}

  /**
   * Batches of the job's changes after `after` (null: from now on). Every batch starts where the
   * previous one ended. The caller has checked the job is the client's to see. Ends when `signal`
   * aborts or return() is called (return() also ends a pull that is waiting for the next batch).
   */
  follow(jobId: string, after: number | null, signal?: AbortSignal): AsyncIterableIterator<ChangeBatch>;
  /**
   * The same, each batch handed over as `map(batch)`, computed when the batch is delivered (that
   * is, when the consumer's pull is answered): a subscription's stream without a further iterator
   * around this one (a step per event and subscriber, docs/benchmarks.md, fan-out).
   */
  follow<T>(jobId: string, after: number | null, signal: AbortSignal | undefined, map: (batch: ChangeBatch) => T): AsyncIterableIterator<T>;
  follow<T>(jobId: string, after: number | null, signal?: AbortSignal, map?: (batch: ChangeBatch) => T): AsyncIterableIterator<T | ChangeBatch> {
    return new Follower<T | ChangeBatch>(this, jobId, after, signal, map ?? ((batch) => batch));
  }

  /** A client joins the job's watch (started on the first). */
  join(jobId: string): Watch {
    const watch = this.watches.get(jobId) ?? this.start(jobId);
    watch.clients++;
    return watch;
  }

  /** A client leaves; the last one stops the watch. */
  async leave(jobId: string, watch: Watch): Promise<void> {
    watch.clients--;
    if (watch.clients === 0 && this.watches.get(jobId) === watch) {
      this.watches.delete(jobId);
      const stopped: Promise<void> = watch.stop().finally(() => this.stopping.delete(stopped));
      this.stopping.add(stopped);
      await stopped;
    }
  }

  /** The next batch after `cursor`: from the ring, from the database when behind it, or null (none yet). */
  nextBatch(jobId: string, watch: Watch, cursor: number): ChangeBatch | Promise<ChangeBatch> | null {
    return this.fromRing(watch, cursor) ?? (cursor < watch.cursor ? this.read(jobId, cursor) : null);
  }

  get watchedJobs(): number {
    return this.watches.size;
  }

  async close(): Promise<void> {
    const watches = [...this.watches.values()];
    this.watches.clear();
    await Promise.all(watches.map((w) => w.stop()));
    // Also those already stopping: the event bus closes right after, and must not be used then.
    await Promise.all(this.stopping);
  }

  /** The ring's changes after `cursor`, if the ring reaches back that far. */
  fromRing(watch: Watch, cursor: number): ChangeBatch | null {
    if (watch.ring.length === 0 || cursor < watch.ring[0].after || cursor >= watch.cursor) return null;
    const seen = watch.views.get(cursor);
    if (seen) return seen;
    const batches = watch.ring.filter((b) => b.cursor > cursor);
    // A device changed in several of these batches is sent once, in its latest state.
    const tasks = new Map<number, Task>();
    for (const batch of batches) for (const task of batch.tasks) if (task.changeSeq > cursor) tasks.set(task.id, task);
    const view = {
      after: cursor,
      cursor: batches[batches.length - 1].cursor,
      tasks: [...tasks.values()],
      removals: batches.flatMap((b) => b.removals.filter((r) => r.changeSeq > cursor)),
    };
    watch.views.set(cursor, view);
    return view;
  }

  private async read(jobId: string, cursor: number): Promise<ChangeBatch> {
    const batch = await changesSince(this.deps.db, jobId, cursor, READ_LIMIT);
    return { after: cursor, cursor: batch.cursor, tasks: batch.tasks, removals: batch.removals };
  }

  private start(jobId: string): Watch {
    const { events, intervalMs, ringTasks, pollMs } = this.deps;
    // Events say when to read; a slow poll also reads, in case an event was lost on the way, and so
    // does 'bus:resync' (Redis was away: events of other instances may have been lost).
    const ticks = coalesce(Repeater.merge([events.subscribe('job:tasks', jobId), events.subscribe('bus:resync'), every(pollMs)]), intervalMs);
    let stopped = false;
    const watch: Watch = {
      cursor: 0,
      ring: [],
      ringTasks: 0,
      clients: 0,
      views: new Map(),
      wakers: new Set(),
      ready: currentChangeSeq(this.deps.db, jobId).then((seq) => {
        watch.cursor = seq;
      }),
      stop: async () => {
        stopped = true;
        for (const wake of [...watch.wakers]) wake();
        await ticks.return?.();
        await pump.catch(() => {});
      },
    };
    const pump = (async () => {
      await watch.ready;
      for await (const _ of ticks) {
        try {
          // Read until caught up; each read is one bounded batch in the ring.
          for (;;) {
            const batch = await this.read(jobId, watch.cursor);
            if (batch.cursor === watch.cursor || stopped) break;
            const delivered = Date.now();
            for (const task of batch.tasks) this.deps.metrics.liveDelivery.observe(Math.max(0, delivered - task.updatedAt.getTime()) / 1000);
            watch.ring.push(batch);
            watch.ringTasks += batch.tasks.length;
            watch.cursor = batch.cursor;
            while (watch.ring.length > 1 && watch.ringTasks > ringTasks) watch.ringTasks -= watch.ring.shift()!.tasks.length;
            watch.views.clear();
            for (const wake of [...watch.wakers]) wake();
            if (batch.tasks.length < READ_LIMIT) break;
          }
        } catch (error) {
          // Clients behind the ring read from the database themselves; the next change retries.
          this.deps.log.warn({ jobId, err: error }, 'jobDeviceUpdates: reading changes failed');
        }
      }
    })();
    this.watches.set(jobId, watch);
    return watch;
  }
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** Whether a batch moves the client on (a read that found nothing new does not). */
const movesOn = (batch: ChangeBatch, cursor: number) => batch.tasks.length > 0 || batch.removals.length > 0 || batch.cursor > cursor;

/**
 * One client following a job: its cursor, and at most one pull waiting. A plain iterator rather than
 * an async generator: it is pulled once per batch by every subscriber, and when the watch reads a
 * batch it answers each waiting pull at once, from the wake-up itself, with the ring's shared view.
 */
class Follower<T> implements AsyncIterableIterator<T>, DirectSource<T> {
  private watch: Watch | null = null;
  private cursor = 0;
  private ready: Promise<void> | null = null;
  private ended = false;
  /** The signal aborted (kept here: reading `signal.aborted` on every pull is not free). */
  private aborted = false;
  private left: Promise<void> | null = null;
  /** The waiting pull's resolve, while it waits for the watch's next batch. */
  private waiting: ((step: IteratorResult<T> | Promise<IteratorResult<T>>) => void) | null = null;
  /** Where batches go directly while the pull waits (live/direct-delivery.ts), if anywhere. */
  private sink: DirectSink<T> | null = null;

  constructor(
    private readonly hub: JobChangesHub,
    private readonly jobId: string,
    private readonly after: number | null,
    private readonly signal: AbortSignal | undefined,
    private readonly map: (batch: ChangeBatch) => T,
  ) {}

  [Symbol.asyncIterator]() {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.ended || this.aborted || (!this.watch && this.signal?.aborted)) return this.end().then(() => DONE);
    if (!this.watch) {
      const watch = (this.watch = this.hub.join(this.jobId));
      this.signal?.addEventListener('abort', this.onAbort, { once: true });
      this.ready = watch.ready.then(() => {
        this.cursor = this.after ?? watch.cursor;
      });
    }
    if (this.ready) {
      return this.ready.then(
        () => {
          this.ready = null;
          return this.next();
        },
        (error: unknown) => this.end().then(() => Promise.reject(error)),
      );
    }
    const step = this.step();
    return step instanceof Promise ? step : Promise.resolve(step);
  }

  /** The next batch, or a promise of it (waiting for the watch, or reading behind the ring). */
  private step(): IteratorResult<T> | Promise<IteratorResult<T>> {
    if (this.ended || this.aborted) return this.end().then(() => DONE);
    const cursor = this.cursor;
    const batch = this.hub.nextBatch(this.jobId, this.watch!, cursor);
    if (batch instanceof Promise) {
      return batch.then(
        (read) => this.deliver(read, cursor),
        (error: unknown) => this.end().then(() => Promise.reject(error)),
      );
    }
    return batch ? this.deliver(batch, cursor) : this.wait();
  }

  private deliver(batch: ChangeBatch, from: number): IteratorResult<T> | Promise<IteratorResult<T>> {
    if (this.ended) return DONE;
    if (!movesOn(batch, from)) return this.wait();
    this.cursor = batch.cursor;
    return { done: false, value: this.map(batch) };
  }

  private wait(): Promise<IteratorResult<T>> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.watch!.wakers.add(this.wake);
    });
  }

  [ATTACH_DIRECT_SINK](sink: DirectSink<T>): () => void {
    this.sink = sink;
    return this.wake;
  }

  /**
   * The watch read a batch (or stops), the signal aborted, or the sink is ready again: the waiting
   * pull takes its step now. With a sink, a batch the ring already holds is offered to it first;
   * sent, it moves the cursor on and the pull keeps waiting (still among the watch's wakers).
   */
  private readonly wake = () => {
    const resolve = this.waiting;
    if (!resolve) return;
    if (this.sink && !this.ended && !this.aborted) {
      const cursor = this.cursor;
      const batch = this.hub.fromRing(this.watch!, cursor);
      if (batch) {
        if (!movesOn(batch, cursor)) return;
        const value = this.map(batch);
        const offered = this.sink.offer(value);
        if (offered === 'busy') return;
        if (offered === 'sent') {
          this.cursor = batch.cursor;
          return;
        }
        this.waiting = null;
        this.watch!.wakers.delete(this.wake);
        this.cursor = batch.cursor;
        resolve({ done: false, value });
        return;
      }
      // Nothing new: keep waiting. Behind the ring: the pull reads from the database below.
      if (cursor >= this.watch!.cursor) return;
    }
    this.waiting = null;
    this.watch?.wakers.delete(this.wake);
    resolve(this.step());
  };

  private readonly onAbort = () => {
    this.aborted = true;
    this.wake();
  };

  private end(): Promise<void> {
    if (this.left) return this.left;
    this.ended = true;
    const watch = this.watch;
    if (!watch) return (this.left = Promise.resolve());
    watch.wakers.delete(this.wake);
    this.signal?.removeEventListener('abort', this.onAbort);
    const resolve = this.waiting;
    this.waiting = null;
    resolve?.(DONE);
    return (this.left = this.hub.leave(this.jobId, watch));
  }

  async return(): Promise<IteratorResult<T>> {
    await this.end();
    return DONE;
  }

  async throw(error: unknown): Promise<IteratorResult<T>> {
    await this.end();
    throw error;
  }
}
