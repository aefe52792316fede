/**
 * The webhook runtime of an instance: the dispatcher, the job.progress emitter and the retention
 * sweep. Every instance runs them (WEBHOOKS=false turns them off on one); they share the work
 * through the database.
 */
import type { Logger } from '../observability/logger.js';
import { sql } from 'drizzle-orm';
import type { ServerConfig } from '../config.js';
import type { Database } from '../db/client.js';
import { queryRows } from '../db/sql.js';
import type { SecretBox } from '../domain/webhooks/secret-box.js';
import type { TargetPolicy } from '../domain/webhooks/targets.js';
import type { EventBus } from '../events/bus.js';
import { createWebhookDispatcher, type WebhookDispatcher } from './dispatcher.js';
import { createProgressEmitter, type ProgressEmitter } from './progress.js';

export interface WebhookRuntime {
  dispatcher: WebhookDispatcher;
  progress: ProgressEmitter;
  /** Deletes finished deliveries and events older than WEBHOOK_RETENTION_DAYS; returns deliveries deleted. */
  sweep(): Promise<number>;
  start(): void;
  close(): Promise<void>;
}

const SWEEP_EVERY_MS = 60 * 60_000;

export function createWebhookRuntime(deps: {
  db: Database;
  events: EventBus;
  config: ServerConfig;
  secrets: SecretBox;
  targets: TargetPolicy;
  logger: Logger;
}): WebhookRuntime {
  const { logger: baseLogger, ...rest } = deps;
  const logger = baseLogger.child({ component: 'webhooks' });
  const log = (level: 'info' | 'warn' | 'error', message: string) => logger[level](message);
  const dispatcher = createWebhookDispatcher({ ...rest, log });
  const progress = createProgressEmitter({ ...rest, log });
  let sweepTimer: NodeJS.Timeout | undefined;

  async function sweep(): Promise<number> {
    const days = deps.config.webhookRetentionDays;
    return deps.db.transaction(async (tx) => {
      const [claimed] = await queryRows<{ ok: boolean }>(tx, sql`select pg_try_advisory_xact_lock(727022, 0) as ok`);
      if (!claimed?.ok) return 0;
      const deleted = await queryRows(
        tx,
        sql`delete from webhook_deliveries where status <> 'PENDING' and created_at < now() - make_interval(days => ${days}) returning 1`,
      );
      await queryRows(
        tx,
        sql`delete from webhook_events ev where ev.occurred_at < now() - make_interval(days => ${days})
            and not exists (select 1 from webhook_deliveries d where d.event_id = ev.id)`,
      );
      return deleted.length;
    });
  }

  return {
    dispatcher,
    progress,
    sweep,
    start() {
      if (!deps.config.webhooksEnabled) return;
      dispatcher.start();
      progress.start();
      sweepTimer = setInterval(() => void sweep().catch((error: Error) => log('error', `webhooks: retention sweep: ${error.message}`)), SWEEP_EVERY_MS);
      sweepTimer.unref();
    },
    async close() {
      if (sweepTimer) clearInterval(sweepTimer);
      await Promise.all([dispatcher.close(), progress.close()]);
    },
  };
}
