/**
 * One transaction per domain operation, with the events it causes published after the commit
 * (never before, never for a rolled-back change).
 */
import type { Database, Transaction } from '../db/client.js';
import { isConflictAbort } from '../db/errors.js';
import { type DomainEvent, type EventBus, publishAll } from '../events/bus.js';

export interface TransactionScope {
  tx: Transaction;
  /** Queue an event; it is published once the transaction has committed. */
  emit(event: DomainEvent): void;
}

export interface TransactionOptions {
  /**
   * Run `work` again, in a new transaction, when PostgreSQL aborted the last one to break a deadlock
   * or a serialization failure (nothing of it committed). Only for work whose effects outside the
   * database all go through `emit`: a retried attempt starts with no events queued.
   */
  retryConflicts?: boolean;
}

/** Events queued through emitOn, per open transaction of inTransaction. */
const queuedByTransaction = new WeakMap<object, DomainEvent[]>();

/**
 * Queue an event on a transaction held only as its executor (code several layers below the scope,
 * such as the one task writer queueing webhook deliveries): published after inTransaction commits
 * it, like `emit`. On an executor that is not such a transaction the event is dropped, so only
 * events whose loss costs a delay (wake-ups that a poll also finds) belong here.
 */
export function emitOn(tx: object, event: DomainEvent): void {
  queuedByTransaction.get(tx)?.push(event);
}

/** Attempts of a transaction aborted by a deadlock or serialization failure (retryConflicts). */
const CONFLICT_ATTEMPTS = 5;

export async function inTransaction<T>(
  deps: { db: Database; events: EventBus },
  work: (scope: TransactionScope) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const queued: DomainEvent[] = [];
    let result: T;
    try {
      result = await deps.db.transaction((tx) => {
        queuedByTransaction.set(tx, queued);
        return work({ tx, emit: (event) => queued.push(event) });
      });
    } catch (error) {
      if (!options.retryConflicts || attempt >= CONFLICT_ATTEMPTS || !isConflictAbort(error)) throw error;
      // The other transaction usually commits within milliseconds; jitter keeps two retries apart.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
      continue;
    }
    publishAll(deps.events, dedupe(queued));
    return result;
  }
}

/** Many task changes in one transaction need one event per topic and key, carrying the latest. */
function dedupe(events: DomainEvent[]): DomainEvent[] {
  const byKey = new Map<string, DomainEvent>();
  for (const event of events) {
    const key = `${event.topic}:${typeof event.args[0] === 'string' ? event.args[0] : JSON.stringify(event.args[0])}`;
    const previous = byKey.get(key);
    if (previous && event.topic === 'job:tasks' && previous.topic === 'job:tasks') {
      const [jobId, a] = previous.args;
      const b = event.args[1];
      byKey.set(key, {
        topic: 'job:tasks',
        args: [jobId, { ...a, maxChangeSeq: Math.max(a.maxChangeSeq, b.maxChangeSeq), count: a.count + b.count }],
      });
    } else {
      byKey.set(key, event);
    }
  }
  return [...byKey.values()];
}
