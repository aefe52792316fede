/**
 * jobsUpdated: gathers the ids of the jobs that changed in an organisation unit and, at most once
 * per interval, reads those jobs (one query for all of them) and hands them out one by one.
 */
import { and, eq, gte, inArray, or } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { otaJobs } from '../db/schema.js';
import { loadFailureReasonCounts, loadStatusCounts } from '../domain/loaders.js';
import type { JobChangedEvent, ResyncEvent } from '../events/bus.js';
import type { JobSnapshot } from './job-progress-hub.js';

type Events<T> = AsyncIterator<T> & AsyncIterable<T>;

export async function* changedJobs(
  db: Executor,
  /** The unit's jobs, of this product only if given. */
  scope: { ouId: string; productId: string | undefined },
  events: Events<JobChangedEvent>,
  /** 'bus:resync': events may have been lost; the jobs that can have changed since then are read. */
  resyncs: Events<ResyncEvent>,
  intervalMs: number,
  signal: AbortSignal,
): AsyncGenerator<JobSnapshot> {
  const { ouId, productId } = scope;
  const dirty = new Set<string>();
  const waiter: { wake: (() => void) | null } = { wake: null };
  const gather = (async () => {
    for await (const event of events) {
      if (productId && event.productId !== productId) continue;
      dirty.add(event.jobId);
      waiter.wake?.();
    }
  })();
  const resync = (async () => {
    for await (const event of resyncs) {
      // Jobs still moving, and those whose status changed since (a finished job's updated_at).
      const rows = await db
        .select({ id: otaJobs.id })
        .from(otaJobs)
        .where(
          and(
            eq(otaJobs.ouId, ouId),
            productId ? eq(otaJobs.productId, productId) : undefined,
            or(inArray(otaJobs.status, ['SCHEDULED', 'RUNNING']), gte(otaJobs.updatedAt, new Date(event.since))),
          ),
        )
        .catch(() => []);
      for (const row of rows) dirty.add(row.id);
      if (rows.length > 0) waiter.wake?.();
    }
  })();
  signal.addEventListener('abort', () => {
    void events.return?.();
    void resyncs.return?.();
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
    await Promise.all([events.return?.(), resyncs.return?.()]);
    await Promise.all([gather.catch(() => {}), resync.catch(() => {})]);
  }
}
