/**
 * The domain event bus: one typed pub/sub with keyed topics. Events are published only after the
 * transaction that caused them commits (see domain/transaction.ts), so a subscriber that reads the
 * database on an event always sees the change. In-process by default; with REDIS_URL every topic
 * but the LOCAL_TOPICS goes through Redis pub/sub, so a subscriber on one instance sees what
 * another instance ingested.
 */
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub, type PubSub } from 'graphql-yoga';
import { Redis } from 'ioredis';

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
  /**
   * Webhook deliveries were queued: this instance's dispatcher looks now rather than at its next
   * poll (the others find them by polling; the outbox in the database is the truth).
   */
  'webhooks:queued': [event: { deliveries: number }];
  /** Trusted documents of a unit were registered or removed: every instance forgets what it cached. */
  'trusted-documents:changed': [event: { ouId: string | null }];
};

/** Topics that must not travel to other instances. */
export const LOCAL_TOPICS: ReadonlySet<keyof DomainEvents> = new Set(['device:cancel', 'webhooks:queued']);

export interface EventBus extends PubSub<DomainEvents> {
  /** 'local' or 'redis': where the shared topics travel. */
  readonly kind: 'local' | 'redis';
  close(): Promise<void>;
}
export type DomainEvent = {
  [K in keyof DomainEvents]: { topic: K; args: DomainEvents[K] };
}[keyof DomainEvents];

export function createEventBus(options: { redisUrl?: string } = {}): EventBus {
  const local = createPubSub<DomainEvents>();
  if (!options.redisUrl) return Object.assign(local, { kind: 'local' as const, close: async () => {} });

  const connect = (role: string) => {
    // No ready check (an INFO command): a SUBSCRIBE made while the client is still connecting (the
    // credential watch subscribes at start) puts the connection in subscriber mode, INFO then fails,
    // and ioredis reconnects over and over.
    const client = new Redis(options.redisUrl!, { lazyConnect: false, maxRetriesPerRequest: 3, enableReadyCheck: false });
    // ioredis reconnects on its own; an event lost while Redis is down is caught up by subscribers
    // from the database (cursors), so log and carry on rather than crash.
    client.on('error', (error) => console.error(`event bus: redis ${role} client: ${error.message}`));
    return client;
  };
  const publishClient = connect('publish');
  const subscribeClient = connect('subscribe');
  const shared = createPubSub<DomainEvents>({
    eventTarget: createRedisEventTarget({ publishClient, subscribeClient }),
  });
  const route = (topic: keyof DomainEvents) => (LOCAL_TOPICS.has(topic) ? local : shared);
  return {
    kind: 'redis',
    publish: ((topic: keyof DomainEvents, ...args: unknown[]) =>
      (route(topic).publish as (t: string, ...a: unknown[]) => void)(topic, ...args)) as EventBus['publish'],
    subscribe: ((topic: keyof DomainEvents, ...args: unknown[]) =>
      (route(topic).subscribe as (t: string, ...a: unknown[]) => unknown)(topic, ...args)) as EventBus['subscribe'],
    async close() {
      await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
    },
  };
}

export function publishAll(bus: EventBus, events: readonly DomainEvent[]): void {
  for (const event of events) {
    (bus.publish as (topic: string, ...args: unknown[]) => void)(event.topic, ...event.args);
  }
}
