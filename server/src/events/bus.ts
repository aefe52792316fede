/**
 * The domain event bus: one typed pub/sub with keyed topics. Events are published only after the
 * transaction that caused them commits (see domain/transaction.ts), so a subscriber that reads the
 * database on an event always sees the change. In-process by default; with REDIS_URL every topic
 * but the LOCAL_TOPICS also goes through Redis pub/sub, so a subscriber on one instance sees what
 * another instance ingested. Losing Redis never ends the process and never stops an instance's
 * own events (docs/operations.md, Redis): the clients reconnect with backoff, and 'bus:resync'
 * tells every reader to catch up from the database once Redis is back.
 */
import { randomBytes } from 'node:crypto';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub, type PubSub, type PubSubEventTarget } from 'graphql-yoga';
import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';

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
  /** The request that caused it, if one did: the engine's lines about it carry the id. */
  reqId?: string;
}

export interface JobStatusEvent {
  jobId: string;
  ouId: string;
  /** What happened: created, started, stopped, cancelled, finished, aborted, retried, started on schedule. */
  change: string;
  /** The job's status after the change. */
  status?: string;
  reqId?: string;
}

export interface DeviceCancelEvent {
  ouId: string;
  jobId: string;
  productKey: string;
  deviceKeys: string[];
  reqId?: string;
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

export interface ResyncEvent {
  reason: 'REDIS_RECONNECTED';
  /** When events may have started to be lost (ms since the epoch). */
  since: number;
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
  /** A job's status changed on this instance (logged and counted where it happened; never relayed). */
  'job:status': [event: JobStatusEvent];
  /** Credentials ended or lost permissions: every instance closes the subscriptions opened with them. */
  'auth:revoked': [event: CredentialsEndedEvent];
  /**
   * Webhook deliveries were queued: this instance's dispatcher looks now rather than at its next
   * poll (the others find them by polling; the outbox in the database is the truth).
   */
  'webhooks:queued': [event: { deliveries: number }];
  /** Trusted documents of a unit were registered or removed: every instance forgets what it cached. */
  'trusted-documents:changed': [event: { ouId: string | null }];
  /**
   * Events may have been lost between instances (Redis was away): whatever keeps state from events
   * reads it again from the database (live readers, the credential watch, caches).
   */
  'bus:resync': [event: ResyncEvent];
};

/** Topics that must not travel to other instances. */
export const LOCAL_TOPICS: ReadonlySet<keyof DomainEvents> = new Set(['device:cancel', 'webhooks:queued', 'job:status']);

export interface EventBus extends PubSub<DomainEvents> {
  /** 'local' or 'redis': where the shared topics travel. */
  readonly kind: 'local' | 'redis';
  /** Whether the shared topics travel now (always for 'local'; for 'redis', both connections are up). */
  connected(): boolean;
  close(): Promise<void>;
}
export type DomainEvent = {
  [K in keyof DomainEvents]: { topic: K; args: DomainEvents[K] };
}[keyof DomainEvents];

/** Reconnect delays to Redis: doubling from 200 ms, at most this long (so it is back within about 2 s of Redis). */
const REDIS_MAX_BACKOFF_MS = 2000;
const redisBackoff = (attempt: number) => Math.min(100 * 2 ** Math.min(attempt, 5), REDIS_MAX_BACKOFF_MS);

/** What a shared event carries on Redis: the publishing instance, so that it does not deliver it twice. */
interface Envelope {
  o: string;
  e: unknown;
}

type Listener = (event: CustomEvent) => void;

/**
 * The event target of the shared topics: an event is delivered to this instance's listeners at once,
 * in-process, and sent to Redis for the others (each drops what it published itself). So an
 * instance's subscribers keep getting its own changes while Redis is away; what other instances
 * changed meanwhile is read from the database on 'bus:resync' (and by the live readers' polls).
 */
function instanceFirstTarget(redis: EventTarget, origin: string) {
  const here = new EventTarget();
  const fromRedis = new Map<Listener, Map<string, Listener>>();
  return {
    /** Delivered on this instance only. */
    dispatchHere(type: string, detail: unknown) {
      here.dispatchEvent(new CustomEvent(type, { detail }));
    },
    target: {
      addEventListener(type: string, listener: Listener) {
        here.addEventListener(type, listener as EventListener);
        const relay: Listener = (event) => {
          const envelope = event.detail as Envelope | null;
          if (envelope && envelope.o !== origin) listener(new CustomEvent(type, { detail: envelope.e }));
        };
        const byType = fromRedis.get(listener) ?? new Map<string, Listener>();
        byType.set(type, relay);
        fromRedis.set(listener, byType);
        redis.addEventListener(type, relay as EventListener);
      },
      removeEventListener(type: string, listener: Listener) {
        here.removeEventListener(type, listener as EventListener);
        const byType = fromRedis.get(listener);
        const relay = byType?.get(type);
        if (!relay) return;
        byType!.delete(type);
        if (byType!.size === 0) fromRedis.delete(listener);
        redis.removeEventListener(type, relay as EventListener);
      },
      dispatchEvent(event: CustomEvent) {
        here.dispatchEvent(new CustomEvent(event.type, { detail: event.detail }));
        redis.dispatchEvent(new CustomEvent(event.type, { detail: { o: origin, e: event.detail } satisfies Envelope }));
        return true;
      },
    },
  };
}

export function createEventBus(options: { redisUrl?: string; log?: Logger } = {}): EventBus {
  const local = createPubSub<DomainEvents>();
  if (!options.redisUrl) return Object.assign(local, { kind: 'local' as const, connected: () => true, close: async () => {} });
  const busLog = options.log?.child({ component: 'event bus' });
  const log = (line: string) => (busLog ? busLog.warn(line) : console.error(line));

  let closing = false;
  const connect = (role: 'publish' | 'subscribe') => {
    const client = new Redis(options.redisUrl!, {
      // No ready check (an INFO command): a SUBSCRIBE made while the client is still connecting (the
      // credential watch subscribes at start) puts the connection in subscriber mode, INFO then fails,
      // and ioredis reconnects over and over.
      enableReadyCheck: false,
      retryStrategy: redisBackoff,
      // Publishing: a message that cannot go now is dropped at once (delivered here already, the
      // others catch up from the database), never queued or retried into an error later.
      // Subscribing: SUBSCRIBE and UNSUBSCRIBE wait for the connection, however long it takes.
      ...(role === 'publish' ? { enableOfflineQueue: false, maxRetriesPerRequest: 0 } : { maxRetriesPerRequest: null }),
    });
    // Logged once per outage, not once per reconnect attempt.
    let lostAt: number | null = null;
    client.on('error', (error: Error) => {
      if (lostAt !== null || closing) return;
      lostAt = Date.now();
      log(`event bus: redis ${role} connection lost (${error.message}); reconnecting, live events of other instances are caught up from the database`);
    });
    client.on('close', () => {
      if (lostAt === null && !closing) {
        lostAt = Date.now();
        log(`event bus: redis ${role} connection closed; reconnecting`);
      }
    });
    client.on('ready', () => {
      if (lostAt === null) return;
      log(`event bus: redis ${role} connection back after ${Date.now() - lostAt} ms`);
      const since = lostAt;
      lostAt = null;
      onBack(role, since);
    });
    return client;
  };
  const publishClient = connect('publish');
  const subscribeClient = connect('subscribe');
  let dropped = 0;
  const ignore = (error: Error) => {
    // A message that did not reach Redis: counted; the first of each outage is logged above.
    dropped++;
    if (dropped === 1 || dropped % 1000 === 0) log(`event bus: ${dropped} event(s) not sent to redis so far: ${error.message}`);
  };
  // The library calls publish/subscribe/unsubscribe without handling their promises: these adapters
  // (its only use of the clients besides `on('message')`) catch them, so no rejection escapes.
  const publisher = { publish: (channel: string, message: string) => publishClient.publish(channel, message).catch(ignore) };
  const subscriber = {
    on: (event: 'message', listener: (channel: string, message: string) => void) => subscribeClient.on(event, listener),
    subscribe: (...channels: string[]) => subscribeClient.subscribe(...channels).catch(ignore),
    unsubscribe: (...channels: string[]) => subscribeClient.unsubscribe(...channels).catch(ignore),
  };
  const redisTarget = createRedisEventTarget({ publishClient: publisher as unknown as Redis, subscribeClient: subscriber as unknown as Redis });
  const { target, dispatchHere } = instanceFirstTarget(redisTarget as unknown as EventTarget, randomBytes(8).toString('hex'));
  const shared = createPubSub<DomainEvents>({ eventTarget: target as unknown as PubSubEventTarget<DomainEvents> });

  function onBack(role: 'publish' | 'subscribe', lostAt: number) {
    if (closing) return;
    // The connection may have been dead a while before it was noticed.
    const resync: ResyncEvent = { reason: 'REDIS_RECONNECTED', since: lostAt - 30_000 };
    if (role === 'publish') {
      // What this instance published meanwhile never reached the others: they read again.
      shared.publish('bus:resync', resync);
      return;
    }
    // What the others published meanwhile never reached this instance: once the subscriptions are
    // back (ioredis re-subscribes right after 'ready'; a PING answers after those), read again.
    setImmediate(() => {
      subscribeClient
        .ping()
        .then(() => dispatchHere('bus:resync', resync))
        .catch(() => {});
    });
  }

  const route = (topic: keyof DomainEvents) => (LOCAL_TOPICS.has(topic) ? local : shared);
  return {
    kind: 'redis',
    connected: () => publishClient.status === 'ready' && subscribeClient.status === 'ready',
    publish: ((topic: keyof DomainEvents, ...args: unknown[]) =>
      (route(topic).publish as (t: string, ...a: unknown[]) => void)(topic, ...args)) as EventBus['publish'],
    subscribe: ((topic: keyof DomainEvents, ...args: unknown[]) =>
      (route(topic).subscribe as (t: string, ...a: unknown[]) => unknown)(topic, ...args)) as EventBus['subscribe'],
    async close() {
      closing = true;
      // QUIT waits for a connection; while Redis is away there is none to wait for.
      await Promise.allSettled([publishClient, subscribeClient].map((c) => (c.status === 'ready' ? c.quit() : Promise.resolve(c.disconnect()))));
    },
  };
}

export function publishAll(bus: EventBus, events: readonly DomainEvent[]): void {
  for (const event of events) {
    (bus.publish as (topic: string, ...args: unknown[]) => void)(event.topic, ...event.args);
  }
}
