/**
 * Wraps a subscription's source so that a client leaving ends it at once. graphql-js ends a
 * subscription by calling return() on its iterator, but an async generator that is waiting inside
 * (for the next change) only sees that call at its next yield, which may be never: the watch and
 * its database reads would linger. The Repeater stops immediately, aborts the signal (which wakes
 * whatever the source waits on) and returns the source. Its push waits until the client took the
 * value, so a slow client slows only its own stream.
 */
import { Repeater } from 'graphql-yoga';

export function abortable<T>(produce: (signal: AbortSignal) => AsyncIterable<T>): AsyncIterableIterator<T> {
  return new Repeater<T>(async (push, stop) => {
    const controller = new AbortController();
    void stop.then(() => controller.abort());
    const iterator = produce(controller.signal)[Symbol.asyncIterator]();
    try {
      for (;;) {
        const result = await Promise.race([iterator.next(), stop.then(() => null)]);
        if (!result || result.done) break;
        await push(result.value);
      }
    } finally {
      controller.abort();
      await iterator.return?.();
      stop();
    }
  });
}
