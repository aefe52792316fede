/**
 * deviceUpdated: one device's current state first, then again whenever it may have changed: a job
 * of its organisation unit changed (task changes of the device's jobs come that way, coalesced to
 * at most one read per interval), or, for its online state and last seen time (which no event
 * carries), every `pollMs`. Each yield is the device row; the subscription's selection reads the
 * rest (its upgrade history) from it.
 */
import { eq } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { devices } from '../db/schema.js';
import type { JobChangedEvent } from '../events/bus.js';

export async function* deviceChanges(
  db: Executor,
  deviceId: string,
  events: AsyncIterator<JobChangedEvent> & AsyncIterable<JobChangedEvent>,
  options: { intervalMs: number; pollMs: number },
  signal: AbortSignal,
): AsyncGenerator<typeof devices.$inferSelect> {
  let dirty = true;
  const waiter: { wake: (() => void) | null } = { wake: null };
  const gather = (async () => {
    for await (const _event of events) {
      dirty = true;
      waiter.wake?.();
    }
  })();
  const poll = setInterval(() => {
    dirty = true;
    waiter.wake?.();
  }, options.pollMs);
  signal.addEventListener('abort', () => {
    void events.return?.();
    waiter.wake?.();
  });
  try {
    while (!signal.aborted) {
      if (!dirty) await new Promise<void>((resolve) => (waiter.wake = resolve));
      waiter.wake = null;
      if (signal.aborted) break;
      dirty = false;
      const [row] = await db.select().from(devices).where(eq(devices.id, deviceId));
      if (!row) return;
      yield row;
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
    }
  } finally {
    clearInterval(poll);
    await events.return?.();
    await gather.catch(() => {});
  }
}
