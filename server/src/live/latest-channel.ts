import { ATTACH_DIRECT_SINK, type DirectSink, type DirectSource } from './direct-delivery.js';

/**
 * A one-slot channel between a producer and one slow or fast consumer: the producer overwrites the
 * slot, the consumer takes whatever is newest when it is ready. Memory per consumer is one value,
 * however slow it reads, and it never receives an older value after a newer one (values carry a
 * version; a late-arriving older one is ignored).
 */
export class LatestChannel<T> implements AsyncIterableIterator<T>, DirectSource<T> {
  private value: T | undefined;
  private version = -1;
  private pending = false;
  private closed = false;
  /** The waiting pull's resolve. */
  private waiting: ((step: IteratorResult<T>) => void) | null = null;
  /** Where values go directly while the pull waits (live/direct-delivery.ts), if anywhere. */
  private sink: DirectSink<T> | null = null;

  /**
   * `onOpen` runs on the first pull (a channel returned before it was ever pulled opened nothing:
   * a client that left at once); `onClose` when the channel is returned after it was opened.
   */
  constructor(
    private readonly onClose: () => void = () => {},
    private onOpen: (() => void) | null = null,
  ) {}

  push(value: T, version: number): void {
    if (this.closed || version <= this.version) return;
    this.value = value;
    this.version = version;
    this.pending = true;
    this.wake();
  }

  [ATTACH_DIRECT_SINK](sink: DirectSink<T>): () => void {
    this.sink = sink;
    return this.wake;
  }

  /**
   * A value was pushed, the channel closed, or the sink is ready again: the waiting pull takes the
   * newest value (or the end). With a sink, the newest value is offered to it first; sent, it is
   * taken and the pull keeps waiting.
   */
  private readonly wake = () => {
    const resolve = this.waiting;
    if (!resolve || !(this.pending || this.closed)) return;
    if (this.sink && !this.closed) {
      const offered = this.sink.offer(this.value as T);
      if (offered === 'busy') return;
      if (offered === 'sent') {
        this.pending = false;
        return;
      }
    }
    resolve(this.take());
  };

  next(): Promise<IteratorResult<T>> {
    if (this.onOpen && !this.closed) {
      const open = this.onOpen;
      this.onOpen = null;
      open();
    }
    if (this.pending || this.closed) return Promise.resolve(this.take());
    // Waits for a push (or the end), then takes the newest value at that moment.
    return new Promise<IteratorResult<T>>((resolve) => (this.waiting = resolve));
  }

  private take(): IteratorResult<T> {
    this.waiting = null;
    if (this.closed) return { done: true, value: undefined };
    this.pending = false;
    return { done: false, value: this.value as T };
  }

  async return(): Promise<IteratorResult<T>> {
    if (!this.closed) {
      this.closed = true;
      this.wake();
      if (!this.onOpen) this.onClose();
      this.onOpen = null;
    }
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}
