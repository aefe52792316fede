/**
 * The domain event bus: one typed pub/sub with keyed topics. Events are published only after the
 * transaction that caused them commits (see domain/transaction.ts), so a subscriber that reads the
 * database on an event always sees the change. In-process by default; the subscriptions issue
 * plugs a Redis event target in so that every instance sees every event.
 */
import { createPubSub, type PubSub } from 'graphql-yoga';

export interface JobChangedEvent {
  jobId: string;
  ouId: string;
  productId: string;
}

export interface TasksChangedEvent {
  jobId: string;
  ouId: string;
  /** Highest change sequence number written by the transaction. */
  maxChangeSeq: number;
  /** Number of tasks changed (for coalescing decisions). */
  count: number;
}

export interface EngineKickEvent {
  /** Why the scheduler should look again (job created/edited/started, device online…). */
  reason: string;
  ouId?: string;
  jobId?: string;
}

export interface DeviceCancelEvent {
  ouId: string;
  jobId: string;
  productKey: string;
  deviceKeys: string[];
}

export interface CredentialsEndedEvent {
  /** API tokens and sessions that stopped working (revoked, or their user was disabled). */
  tokenIds: string[];
  /** Users whose every credential is affected. */
  userIds: string[];
  /**
   * REVOKED: the credentials no longer work. PERMISSIONS_REDUCED: they still work with fewer
   * permissions, so what was opened with the old ones must be opened again.
   */
  reason: 'REVOKED' | 'PERMISSIONS_REDUCED';
}

export type DomainEvents = {
  /** A job's settings, status or counts changed. */
  'job:changed': [jobId: string, event: JobChangedEvent];
  /** Some of a job's tasks changed. */
  'job:tasks': [jobId: string, event: TasksChangedEvent];
  /** The job list of an organisation unit changed (created, status or progress). */
  'ou:jobs': [ouId: string, event: JobChangedEvent];
  /** Something happened that can make the rollout engine push more. */
  'engine:kick': [event: EngineKickEvent];
  /**
   * Pushed tasks were cancelled: their devices must be told. Stays on the instance that made the
   * change (never relayed to other instances) so that each cancel is sent once.
   */
  'device:cancel': [event: DeviceCancelEvent];
  /** Credentials ended or lost permissions: every instance closes the subscriptions opened with them. */
  'auth:revoked': [event: CredentialsEndedEvent];
};

/** Topics that must not travel to other instances. */
export const LOCAL_TOPICS: ReadonlySet<keyof DomainEvents> = new Set(['device:cancel']);

export type EventBus = PubSub<DomainEvents>;
export type DomainEvent = {
  [K in keyof DomainEvents]: { topic: K; args: DomainEvents[K] };
}[keyof DomainEvents];

export function createEventBus(): EventBus {
  return createPubSub<DomainEvents>();
}

export function publishAll(bus: EventBus, events: readonly DomainEvent[]): void {
  for (const event of events) {
    (bus.publish as (topic: string, ...args: unknown[]) => void)(event.topic, ...event.args);
  }
}
