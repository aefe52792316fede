/** The long-lived parts of a running server that domain functions, the engine and resolvers share. */
import type { ServerConfig } from './config.js';
import type { Database, DatabaseHandle } from './db/client.js';
import type { FirmwareStore } from './domain/firmware-store.js';
import type { WebhookDeps } from './domain/webhooks/endpoints.js';
import type { TrustedDocumentStore } from './documents/store.js';
import type { EventBus } from './events/bus.js';
import type { LiveHubs } from './live/index.js';
import type { Logger } from './observability/logger.js';
import type { Metrics } from './observability/metrics.js';

export interface AppServices {
  db: Database;
  database: DatabaseHandle;
  config: ServerConfig;
  events: EventBus;
  firmwareStore: FirmwareStore;
  /** Shared readers behind the live subscriptions. */
  live: LiveHubs;
  /** What webhook management needs: the secrets' key and the target policy (SSRF). */
  webhooks: WebhookDeps;
  /** The instance's log (lines inside a request carry its id). */
  log: Logger;
  /** The instance's metrics registry and instruments (/metrics). */
  metrics: Metrics;
  /** Trusted documents, as requests look them up. */
  trustedDocuments: TrustedDocumentStore;
}
