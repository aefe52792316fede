/**
 * One timer for the whole fleet. Thousands of devices each waiting for their next progress report
 * would otherwise mean thousands of live Node timers; a binary heap ordered by due time and a single
 * `setTimeout` for the earliest entry keeps the per-device cost to one heap slot.
 */

export interface ScheduledTask {
  /** Idempotent; a cancelled task never runs. */
  cancel(): void;
}

interface Entry {
  due: number;
  seq: number;
  run: () => void;
  cancelled: boolean;
}

/** setTimeout's ceiling; longer delays are re-armed when this one fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Scheduler {
  private readonly heap: Entry[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerDue = Infinity;
  private stopped = false;

  constructor(
    /** The clock; injectable for tests. */
    readonly now: () => number = Date.now,
    /** Called when a task throws: one faulty device must not stop every other device's clock. */
    private readonly onError: (error: unknown) => void = (error) => console.error('simulator task failed', error),
  ) {}

  /** Number of pending (including cancelled-but-not-yet-dropped) entries; for tests and stats. */
  get size(): number {
    return this.heap.length;
  }

  after(delayMs: number, run: () => void): ScheduledTask {
    return this.at(this.now() + Math.max(0, delayMs), run);
  }

  at(due: number, run: () => void): ScheduledTask {
    const entry: Entry = { due, seq: this.seq++, run, cancelled: false };
    if (!this.stopped) {
      this.push(entry);
      this.arm();
    }
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  stop(): void {
    this.stopped = true;
    this.heap.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    const first = this.heap[0];
    if (!first || this.stopped) return;
    if (this.timer && this.timerDue <= first.due) return;
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.min(Math.max(0, first.due - this.now()), MAX_TIMER_MS);
    this.timerDue = first.due;
    this.timer = setTimeout(() => this.fire(), delay);
    // The fleet's sockets keep a CLI process alive; the clock alone must not keep a test runner alive.
    this.timer.unref();
  }

  private fire(): void {
    this.timer = null;
    this.timerDue = Infinity;
    const now = this.now();
    // Run everything due now, including tasks that due tasks schedule for "now".
    for (let first = this.heap[0]; first && first.due <= now; first = this.heap[0]) {
      this.pop();
      if (first.cancelled) continue;
      try {
        first.run();
      } catch (error) {
        this.onError(error);
      }
      if (this.stopped) return;
    }
    this.arm();
  }

  private less(a: Entry, b: Entry): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (!last || heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && this.less(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && this.less(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) break;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}
