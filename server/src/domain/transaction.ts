/**
 * One transaction per domain operation, with the events it causes published after the commit
 * (never before, never for a rolled-back change).
 */
import type { Database, Transaction } from '../db/client.js';
import { type DomainEvent, type EventBus, publishAll } from '../events/bus.js';

export interface TransactionScope {
  tx: Transaction;
  /** Queue an event; it is published once the transaction has committed. */
  emit(event: DomainEvent): void;
}

export async function inTransaction<T>(
  deps: { db: Database; events: EventBus },
  work: (scope: TransactionScope) => Promise<T>,
): Promise<T> {
  const queued: DomainEvent[] = [];
  const result = await deps.db.transaction((tx) => work({ tx, emit: (event) => queued.push(event) }));
  publishAll(deps.events, dedupe(queued));
  return result;
}

/** Many task changes in one transaction need one event per topic and key, carrying the latest. */
function dedupe(events: DomainEvent[]): DomainEvent[] {
  const byKey = new Map<string, DomainEvent>();
  for (const event of events) {
    const key = event.topic + ':' + (typeof event.args[0] === 'string' ? event.args[0] : JSON.stringify(event.args[0]));
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
