/**
 * Turns a stream of change notifications into at most one tick per interval. A tick that falls in
 * the quiet interval is delayed, never dropped, so the subscriber always ends on the latest state;
 * a slow consumer holds at most one pending tick (sliding buffer of one).
 */
import { Repeater, SlidingBuffer } from 'graphql-yoga';

export function coalesce(source: AsyncIterator<unknown> & AsyncIterable<unknown>, intervalMs: number): AsyncIterableIterator<void> {
  return new Repeater<void>(async (push, stop) => {
    let pending = false;
    let timer: NodeJS.Timeout | null = null;
    let lastTick = 0;
    const tick = () => {
      timer = null;
      if (!pending) return;
      pending = false;
      lastTick = Date.now();
      void push();
    };
    const pump = (async () => {
      for await (const _ of source) {
        pending = true;
        if (!timer) timer = setTimeout(tick, Math.max(0, lastTick + intervalMs - Date.now()));
      }
    })();
    await stop;
    if (timer) clearTimeout(timer);
    await source.return?.();
    await pump.catch(() => {});
  }, new SlidingBuffer(1));
}
