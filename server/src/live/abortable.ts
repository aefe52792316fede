/**
 * Wraps a subscription's source so that a client leaving ends it at once. graphql-js ends a
 * subscription by calling return() on its iterator, but an async generator that is waiting inside
 * (for the next change) only sees that call at its next yield, which may be never: the watch and
 * its database reads would linger. return() here first aborts the signal (which wakes whatever the
 * source waits on), then returns the source. Values are pulled one at a time, so a slow client
 * slows only its own stream.
 *
 * A plain iterator rather than a Repeater: it sits between every live event and every subscriber,
 * and the Repeater's queue, stop race and promises per event were a measurable share of the
 * server's work with a thousand subscribers (docs/benchmarks.md, fan-out).
 */
export function abortable<T>(produce: (signal: AbortSignal) => AsyncIterable<T>): AsyncIterableIterator<T> {
  const controller = new AbortController();
  // Produced on the first pull, not before: a subscription ended before it started (a client that
  // left at once) opens nothing that would need closing.
  let source: AsyncIterator<T> | null = null;
  let ended: Promise<IteratorResult<T>> | null = null;
  const end = (): Promise<IteratorResult<T>> => {
    ended ??= (async () => {
      controller.abort();
      await source?.return?.();
      return { done: true as const, value: undefined };
    })();
    return ended;
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next() {
      if (ended) return ended;
      source ??= produce(controller.signal)[Symbol.asyncIterator]();
      // The source's own promise when it is not done: no further step per event.
      return source.next().then((result) => {
        if (result.done) void end();
        return result;
      });
    },
    return: end,
    async throw(error: unknown) {
      await end();
      throw error;
    },
  };
}
