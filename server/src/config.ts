/**
 * Every setting the server reads from the environment, parsed once. The README's table of
 * environment variables is generated from nothing: keep it in step with this file by hand.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LogLevel, parseLogLevel } from './observability/logger.js';

/** A dependency /readyz reports on (http/readiness.ts). */
export type DependencyName = 'database' | 'broker' | 'redis';

/** ./data at the repository root, whatever directory the server was started from. */
const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../data', import.meta.url));

/**
 * Default limit of a request body other than a firmware upload: room for an upgrade job naming
 * 100,000 device keys of 38 characters, small enough that reading and parsing the largest body
 * costs a few tens of milliseconds (docs/api.md, "Limits"; docs/benchmarks.md, scenario 6).
 */
export const MAX_REQUEST_BODY_BYTES = 4 * 1024 * 1024;

export interface ServerConfig {
  /** PostgreSQL URL; when absent the server embeds PGlite under `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  firmwareDir: string;
  /** Largest accepted firmware file, in bytes. */
  maxFirmwareBytes: number;
  /** Largest request body other than a firmware upload (multipart: maxFirmwareBytes plus 1 MiB). */
  maxRequestBodyBytes: number;
  host: string;
  port: number;
  /** Seed a demo organisation unit, product, fleet and jobs when the database is empty. */
  seedDemo: boolean;
  /** Default cap of Pushed + In Progress tasks across one organisation unit's jobs. */
  ouConcurrencyCap: number;
  /** GraphQL document limits (docs/api.md, "Limits"): characters, tokens, depth, fields, aliases, cost. */
  maxQueryLength: number;
  maxQueryTokens: number;
  maxQueryDepth: number;
  maxQueryBreadth: number;
  maxQueryAliases: number;
  maxQueryComplexity: number;
  /** jobProgress subscriptions send at most one event per this many milliseconds. */
  jobProgressIntervalMs: number;
  /** jobDeviceUpdates batches changes for at most this many milliseconds. */
  jobDeviceUpdatesIntervalMs: number;
  /** Live readers also look for changes this often, in case an event was lost on the way. */
  liveSafetyPollMs: number;
  /** Redis for the event bus across instances; unset: in-process only (one instance). */
  redisUrl: string | undefined;
  /** graphql-ws: ping every client this often and drop one that did not answer by the next ping (0: never). */
  wsKeepAliveMs: number;
  /** WebSocket: largest message (frame payload) accepted; a longer one closes the connection (1009) unread. */
  wsMaxMessageBytes: number;
  /** graphql-ws: a connection that has not sent connection_init by then is closed (4408). */
  wsConnectionInitTimeoutMs: number;
  /** Public base URL devices use to download firmware (defaults to the listening address). */
  publicUrl: string | undefined;
  /** LOG_LEVEL: fatal, error, warn, info (default), debug, trace or silent. */
  logLevel: LogLevel;
  /** Dependencies whose loss makes /readyz answer 503 (the others down: `degraded`, 200). */
  readyRequires: DependencyName[];

  // ── Authentication (docs/security.md) ──
  /** ADMIN_TOKEN: the first administrator's API token; unset: one is generated at first start and printed once. */
  adminToken: string | undefined;
  /** ADMIN_PASSWORD: the first administrator's password, set at first start only. */
  adminPassword: string | undefined;
  /** Lifetime of a dashboard session, in minutes. */
  sessionTtlMinutes: number;
  /** Behind a reverse proxy: client address, scheme and host come from X-Forwarded-For/-Proto/-Host. */
  trustProxy: boolean;
  /** API requests (HTTP, SSE, graphql-ws operations) per minute per credential (0: no limit). */
  apiRateLimitPerMinute: number;
  /** API requests per minute per client address, for requests without valid credentials (0: no limit). */
  apiAnonymousRateLimitPerMinute: number;

  // ── Device gateway and rollout engine (docs/engine.md) ──
  /** External MQTT broker; when absent the server embeds an aedes broker on `mqttPort`. */
  mqttUrl: string | undefined;
  /** Port of the embedded broker; when taken, a free port is used instead (and logged). */
  mqttPort: number;
  /** Host the embedded broker listens on. */
  mqttHost: string;
  /** Embedded broker: largest packet of an authenticated device; a larger one closes the connection. */
  mqttMaxPacketBytes: number;
  /** Embedded broker: largest packet before authentication (the CONNECT). */
  mqttMaxConnectBytes: number;
  /** Embedded broker: a connection not authenticated this long after opening is closed. */
  mqttConnectTimeoutMs: number;
  /** Embedded broker: messages per second one device may publish, sustained (0: unlimited). */
  mqttDeviceMessagesPerSecond: number;
  /** Embedded broker: messages one device may publish at once above that rate. */
  mqttDeviceBurst: number;
  /** Shared-subscription group on an external broker: instances in one group split the device traffic. */
  mqttShareGroup: string;
  /** Connections (shared-subscription members) this instance opens to an external broker. */
  mqttConnections: number;
  /** Identity of this instance towards an external broker (persistent session across restarts). */
  instanceId: string | undefined;
  /** With INSTANCE_ID: how long the broker keeps this instance's sessions (and queues for them) after it went away. */
  mqttSessionExpirySeconds: number;
  /** Start the device gateway and the rollout engine with the server. */
  engineEnabled: boolean;
  /** Period of the engine's sweep (timeouts, schedules, waiting devices), in milliseconds. */
  engineSweepMs: number;
  /** Length of one "minute" of job settings (timeouts, retry intervals, push rate), for tests and demos. */
  engineMinuteMs: number;
  /** A Pushed device that has not answered is sent its push again after this many milliseconds. */
  repushAfterMs: number;
  /** Device reports written per transaction, at most. */
  reportBatchSize: number;
  /** How long the first report of a batch waits for others, in milliseconds. */
  reportBatchMs: number;
  /** Report batches written at once (over disjoint devices) when reports queue faster than one batch commits. */
  reportBatchConcurrency: number;
  /** External broker: a presence will is ignored when the device was heard from this recently. */
  presenceGraceMs: number;
  /** How long a device's report waits for the earlier ones it sent before it is applied without them (docs/engine.md, "Report order"). */
  reportOrderHoldMs: number;
  /** Lifetime of the download token in a push, in seconds. */
  downloadTokenTtlSeconds: number;
  /** Key for download tokens; unset: one is generated once and kept in the database. */
  downloadTokenSecret: string | undefined;
  /** `pnpm start` runs the demo fleet simulator next to the server. */
  demoFleet: boolean;
  /** Behaviour mix of the demo fleet (simulator `--behaviour` syntax). */
  demoFleetBehaviour: string;

  // ── Webhooks (docs/integrations.md) ──
  /** Run the webhook dispatcher (and the job.progress emitter) on this instance. */
  webhooksEnabled: boolean;
  /** Key that encrypts webhook signing secrets at rest; unset: one is generated into the database. */
  webhookSecretsKey: string | undefined;
  /** Addresses, CIDR ranges or host names webhooks may reach although private/loopback/link-local. */
  webhookAllowedTargets: string[];
  /** One delivery attempt's limit: connection, answer and body, in milliseconds. */
  webhookTimeoutMs: number;
  /** Attempts in flight at once on this instance. */
  webhookConcurrency: number;
  /** The dispatcher looks for due deliveries this often (and at once when this instance queued some). */
  webhookPollMs: number;
  /** First retry delay; each further retry waits twice as long, up to webhookRetryMaxIntervalMs. */
  webhookRetryBaseMs: number;
  webhookRetryMaxIntervalMs: number;
  /** A delivery is retried for this long after it was queued, then given up (FAILED). */
  webhookMaxRetryMs: number;
  /** An endpoint with no successful delivery for this long (while failing) is disabled. */
  webhookDisableAfterMs: number;
  /** At most one job.progress event per job per this many milliseconds. */
  webhookProgressIntervalMs: number;
  /** Finished deliveries and their events are kept this many days (replay reaches that far back). */
  webhookRetentionDays: number;
  /** Bytes of a receiver's answer read (and kept in the delivery log), at most. */
  webhookMaxResponseBytes: number;
}

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  }
  return value;
}

function boolFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no'].includes(raw.toLowerCase())) return false;
  throw new Error(`${name} must be true or false, got "${raw}"`);
}

const DEPENDENCIES: readonly DependencyName[] = ['database', 'broker', 'redis'];

function dependencyListFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: DependencyName[]): DependencyName[] {
  const raw = env[name];
  if (raw === undefined) return fallback;
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !DEPENDENCIES.includes(n as DependencyName));
  if (unknown.length > 0) throw new Error(`${name} names ${unknown.join(', ')}; known: ${DEPENDENCIES.join(', ')}`);
  return names as DependencyName[];
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<ServerConfig> = {}): ServerConfig {
  const dataDir = env.DATA_DIR ? path.resolve(env.DATA_DIR) : DEFAULT_DATA_DIR;
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir,
    firmwareDir: path.resolve(env.FIRMWARE_DIR ?? path.join(dataDir, 'firmware')),
    maxFirmwareBytes: intFromEnv(env, 'MAX_FIRMWARE_BYTES', 100 * 1024 * 1024),
    maxRequestBodyBytes: intFromEnv(env, 'MAX_REQUEST_BODY_BYTES', MAX_REQUEST_BODY_BYTES),
    host: env.HOST ?? '0.0.0.0',
    port: intFromEnv(env, 'PORT', 4000),
    seedDemo: boolFromEnv(env, 'SEED_DEMO', true),
    ouConcurrencyCap: intFromEnv(env, 'OU_CONCURRENCY_CAP', 10_000),
    maxQueryLength: intFromEnv(env, 'MAX_QUERY_LENGTH', 100_000),
    maxQueryTokens: intFromEnv(env, 'MAX_QUERY_TOKENS', 10_000),
    maxQueryDepth: intFromEnv(env, 'MAX_QUERY_DEPTH', 12),
    maxQueryBreadth: intFromEnv(env, 'MAX_QUERY_BREADTH', 500),
    maxQueryAliases: intFromEnv(env, 'MAX_QUERY_ALIASES', 200),
    maxQueryComplexity: intFromEnv(env, 'MAX_QUERY_COMPLEXITY', 50_000),
    jobProgressIntervalMs: intFromEnv(env, 'JOB_PROGRESS_INTERVAL_MS', 250),
    jobDeviceUpdatesIntervalMs: intFromEnv(env, 'JOB_DEVICE_UPDATES_INTERVAL_MS', 100),
    liveSafetyPollMs: intFromEnv(env, 'LIVE_SAFETY_POLL_MS', 5000),
    redisUrl: env.REDIS_URL || undefined,
    wsKeepAliveMs: intFromEnv(env, 'WS_KEEPALIVE_MS', 15_000),
    wsMaxMessageBytes: intFromEnv(env, 'WS_MAX_MESSAGE_BYTES', 1024 * 1024),
    wsConnectionInitTimeoutMs: intFromEnv(env, 'WS_CONNECTION_INIT_TIMEOUT_MS', 3000),
    publicUrl: env.PUBLIC_URL || undefined,
    logLevel: parseLogLevel(env.LOG_LEVEL),
    readyRequires: dependencyListFromEnv(env, 'READY_REQUIRES', ['database']),
    adminToken: env.ADMIN_TOKEN || undefined,
    adminPassword: env.ADMIN_PASSWORD || undefined,
    sessionTtlMinutes: intFromEnv(env, 'SESSION_TTL_MINUTES', 12 * 60),
    trustProxy: boolFromEnv(env, 'TRUST_PROXY', false),
    apiRateLimitPerMinute: intFromEnv(env, 'API_RATE_LIMIT_PER_MINUTE', 1200),
    apiAnonymousRateLimitPerMinute: intFromEnv(env, 'API_ANONYMOUS_RATE_LIMIT_PER_MINUTE', 300),
    mqttUrl: env.MQTT_URL || undefined,
    mqttPort: intFromEnv(env, 'MQTT_PORT', 1883),
    mqttHost: env.MQTT_HOST ?? '0.0.0.0',
    mqttMaxPacketBytes: intFromEnv(env, 'MQTT_MAX_PACKET_BYTES', 64 * 1024),
    mqttMaxConnectBytes: intFromEnv(env, 'MQTT_MAX_CONNECT_BYTES', 4096),
    mqttConnectTimeoutMs: intFromEnv(env, 'MQTT_CONNECT_TIMEOUT_MS', 10_000),
    mqttDeviceMessagesPerSecond: intFromEnv(env, 'MQTT_DEVICE_MESSAGES_PER_SECOND', 50),
    mqttDeviceBurst: intFromEnv(env, 'MQTT_DEVICE_BURST', 200),
    mqttShareGroup: env.MQTT_SHARE_GROUP || 'updraft',
    mqttConnections: intFromEnv(env, 'MQTT_CONNECTIONS', 4),
    instanceId: env.INSTANCE_ID || undefined,
    mqttSessionExpirySeconds: intFromEnv(env, 'MQTT_SESSION_EXPIRY_SECONDS', 600),
    engineEnabled: boolFromEnv(env, 'ENGINE', true),
    engineSweepMs: intFromEnv(env, 'ENGINE_SWEEP_MS', 1000),
    engineMinuteMs: intFromEnv(env, 'ENGINE_MINUTE_MS', 60_000),
    repushAfterMs: intFromEnv(env, 'REPUSH_AFTER_MS', 30_000),
    reportBatchSize: intFromEnv(env, 'REPORT_BATCH_SIZE', 1000),
    reportBatchMs: intFromEnv(env, 'REPORT_BATCH_MS', 20),
    reportBatchConcurrency: intFromEnv(env, 'REPORT_BATCH_CONCURRENCY', 2),
    presenceGraceMs: intFromEnv(env, 'PRESENCE_GRACE_MS', 1000),
    reportOrderHoldMs: intFromEnv(env, 'REPORT_ORDER_HOLD_MS', 2000),
    downloadTokenTtlSeconds: intFromEnv(env, 'DOWNLOAD_TOKEN_TTL_SECONDS', 3600),
    downloadTokenSecret: env.DOWNLOAD_TOKEN_SECRET || undefined,
    demoFleet: boolFromEnv(env, 'DEMO_FLEET', true),
    demoFleetBehaviour:
      env.DEMO_FLEET_BEHAVIOUR ?? 'offline=0.05,decline=0.02,downloadFail=0.02,corrupt=0.01,writeFail=0.01,undefinedFail=0.01,hang=0.01,slow=0.1',
    webhooksEnabled: boolFromEnv(env, 'WEBHOOKS', true),
    webhookSecretsKey: env.WEBHOOK_SECRETS_KEY || undefined,
    webhookAllowedTargets: (env.WEBHOOK_ALLOWED_TARGETS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    webhookTimeoutMs: intFromEnv(env, 'WEBHOOK_TIMEOUT_MS', 10_000),
    webhookConcurrency: intFromEnv(env, 'WEBHOOK_CONCURRENCY', 16),
    webhookPollMs: intFromEnv(env, 'WEBHOOK_POLL_MS', 1000),
    webhookRetryBaseMs: intFromEnv(env, 'WEBHOOK_RETRY_BASE_MS', 5000),
    webhookRetryMaxIntervalMs: intFromEnv(env, 'WEBHOOK_RETRY_MAX_INTERVAL_MS', 2 * 60 * 60_000),
    webhookMaxRetryMs: intFromEnv(env, 'WEBHOOK_MAX_RETRY_MS', 24 * 60 * 60_000),
    webhookDisableAfterMs: intFromEnv(env, 'WEBHOOK_DISABLE_AFTER_MS', 24 * 60 * 60_000),
    webhookProgressIntervalMs: intFromEnv(env, 'WEBHOOK_PROGRESS_INTERVAL_MS', 10_000),
    webhookRetentionDays: intFromEnv(env, 'WEBHOOK_RETENTION_DAYS', 30),
    webhookMaxResponseBytes: intFromEnv(env, 'WEBHOOK_MAX_RESPONSE_BYTES', 4096),
    ...overrides,
  };
}
