/** The shared readers behind subscriptions, one set per server instance. */
import type { ServerConfig } from '../config.js';
import type { Executor } from '../db/client.js';
import type { EventBus } from '../events/bus.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { JobChangesHub } from './job-changes-hub.js';
import { JobProgressHub } from './job-progress-hub.js';

export interface LiveHubs {
  jobProgress: JobProgressHub;
  jobChanges: JobChangesHub;
  close(): Promise<void>;
}

export function createLiveHubs(deps: { db: Executor; events: EventBus; config: ServerConfig; log: Logger; metrics: Metrics }): LiveHubs {
  const { db, events, config, metrics } = deps;
  const log = deps.log.child({ component: 'live' });
  const jobProgress = new JobProgressHub({ db, events, intervalMs: config.jobProgressIntervalMs, log });
  const jobChanges = new JobChangesHub({
    db,
    events,
    intervalMs: config.jobDeviceUpdatesIntervalMs,
    ringTasks: 5000,
    pollMs: config.liveSafetyPollMs,
    log,
    metrics,
  });
  return {
    jobProgress,
    jobChanges,
    close: async () => {
      await Promise.all([jobProgress.close(), jobChanges.close()]);
    },
  };
}
