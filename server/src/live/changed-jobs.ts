/**
 * jobsUpdated: gathers the ids of the jobs that changed in an organisation unit and, at most once
 * per interval, reads those jobs (one query for all of them) and hands them out one by one.
 */
import { and, eq, inArray } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { otaJobs } from '../db/schema.js';
import { loadFailureReasonCounts, loadStatusCounts } from '../domain/loaders.js';
import type { JobChangedEvent } from '../events/bus.js';
import type { JobSnapshot } from './job-progress-hub.js';

export async function* changedJobs(
  db: Executor,
  events: AsyncIterator<JobChangedEvent> & AsyncIterable<JobChangedEvent>,
  /** Only jobs of this product (undefined: every product). */
  productId: string | undefined,
  intervalMs: number,
  signal: AbortSignal,
): AsyncGenerator<JobSnapshot> {
  const dirty = new Set<string>();
  const waiter: { wake: (() => void) | null } = { wake: null };
  const gather = (async () => {
    for await (const event of events) {
      if (productId && event.productId !== productId) continue;
      dirty.add(event.jobId);
      waiter.wake?.();
    }
  })();
  signal.addEventListener('abort', () => {
    void events.return?.();
    waiter.wake?.();
  });
  try {
    while (!signal.aborted) {
      if (dirty.size === 0) await new Promise<void>((resolve) => (waiter.wake = resolve));
      if (signal.aborted) break;
      const ids = [...dirty];
      dirty.clear();
      const jobs = await db
        .select()
        .from(otaJobs)
        .where(and(inArray(otaJobs.id, ids), productId ? eq(otaJobs.productId, productId) : undefined));
      const [counts, reasons] = await Promise.all([loadStatusCounts(db, ids), loadFailureReasonCounts(db, ids)]);
      for (const job of jobs) yield { job, counts: counts.get(job.id)!, failureReasons: reasons.get(job.id)! };
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  } finally {
    await events.return?.();
    await gather.catch(() => {});
  }
}
