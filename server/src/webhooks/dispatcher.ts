/**
 * Sends what the outbox queued (domain/webhooks/outbox.ts), from every instance at once, at least
 * once and in order per endpoint and job ("lane"):
 *
 * - **Claim.** One statement finds the head of every lane (the lowest pending delivery, by a skip
 *   scan over the lane index: a lane's backlog costs nothing), keeps the heads that are due, whose
 *   endpoint is enabled and not paused, and that no instance holds, locks them `FOR UPDATE SKIP
 *   LOCKED` and leases them (`lease_until`). A lane's next delivery is not a head while the one
 *   before it is pending, leased or not: one delivery in flight per lane, in id order, which is
 *   commit order per job.
 * - **Attempt.** A signed POST (Standard Webhooks) within WEBHOOK_TIMEOUT_MS, outside any
 *   transaction. An instance killed meanwhile leaves the lease to expire: another instance sends the
 *   delivery again (at least once; receivers dedupe on webhook-id).
 * - **Record.** One transaction: the attempt into the log, the delivery done (SUCCEEDED), retried
 *   later (exponential backoff with jitter) or given up (FAILED, WEBHOOK_MAX_RETRY_MS after it was
 *   queued), and the endpoint's health. A receiver that looks unavailable (no connection, timeout,
 *   5xx, 429) pauses its whole endpoint, probed by one delivery at a time; its first success sends
 *   everything that waited at once. An endpoint failing for WEBHOOK_DISABLE_AFTER_MS is disabled,
 *   which its unit's administrators see (status, disabledReason) and the log says.
 */
import { sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import type { ServerConfig } from '../config.js';
import type { Database } from '../db/client.js';
import { messageIdOf, renderPayload } from '../domain/webhooks/event-types.js';
import { signingSecrets } from '../domain/webhooks/endpoints.js';
import type { SecretBox } from '../domain/webhooks/secret-box.js';
import type { TargetPolicy } from '../domain/webhooks/targets.js';
import { queryRows } from '../db/sql.js';
import type { EventBus } from '../events/bus.js';
import { type AttemptResult, sendAttempt } from './http-delivery.js';

export interface DispatcherDeps {
  db: Database;
  events: EventBus;
  config: ServerConfig;
  secrets: SecretBox;
  targets: TargetPolicy;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export interface DispatcherStats {
  claimed: number;
  succeeded: number;
  failed: number;
  gaveUp: number;
  disabled: number;
}

export interface WebhookDispatcher {
  start(): void;
  /** Look for due deliveries now. */
  kick(): void;
  /** Stops claiming and waits (a few seconds at most) for the attempts in flight. */
  close(): Promise<void>;
  readonly stats: DispatcherStats;
}

interface Claimed {
  id: number | string;
  endpoint_id: string;
  event_id: number | string;
  attempts: number;
  created_at: Date | string;
  type: string;
  data: Record<string, unknown>;
  occurred_at: Date | string;
  url: string;
  secret_ciphertext: string;
  previous_secret_ciphertext: string | null;
  previous_secret_expires_at: Date | string | null;
}

const USER_AGENT = 'Updraft-Webhooks/1.0 (+https://github.com/updraft/updraft/blob/main/docs/integrations.md)';

/** Delay before retry number `n` (1 = the first retry): base × 2^(n-1), capped, ±20% jitter. */
export function backoffMs(n: number, baseMs: number, maxMs: number, random = Math.random): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(n - 1, 0), 30));
  return Math.round(raw * (0.8 + 0.4 * random()));
}

export function createWebhookDispatcher(deps: DispatcherDeps): WebhookDispatcher {
  const { db, config } = deps;
  const stats: DispatcherStats = { claimed: 0, succeeded: 0, failed: 0, gaveUp: 0, disabled: 0 };
  const inFlight = new Set<Promise<void>>();
  const leaseMs = config.webhookTimeoutMs * 2 + 5000;
  let running = false;
  let pumping = false;
  let again = false;
  let pollTimer: NodeJS.Timeout | undefined;
  let queuedEvents: AsyncIterator<unknown> | undefined;
  let quietUntil = 0;
  let lastErrorLog = 0;

  const logError = (what: string, error: unknown) => {
    // A database outage would log on every poll: once every 10 s is enough to say so.
    if (Date.now() - lastErrorLog < 10_000) return;
    lastErrorLog = Date.now();
    deps.log('error', `webhooks: ${what}: ${(error as Error).message}`);
  };

  async function claim(limit: number): Promise<Claimed[]> {
    return queryRows<Claimed>(
      db,
      sql`with recursive heads as (
            (select endpoint_id, lane, id from webhook_deliveries where status = 'PENDING' order by endpoint_id, lane, id limit 1)
            union all
            select n.endpoint_id, n.lane, n.id from heads h
            cross join lateral (
              select d.endpoint_id, d.lane, d.id from webhook_deliveries d
              where d.status = 'PENDING' and (d.endpoint_id, d.lane) > (h.endpoint_id, h.lane)
              order by d.endpoint_id, d.lane, d.id limit 1) n
          ),
          candidates as (
            select h.id, row_number() over (partition by h.endpoint_id order by h.id) as rank, e.consecutive_failures
            from heads h join webhook_deliveries d on d.id = h.id join webhook_endpoints e on e.id = h.endpoint_id
            where d.next_attempt_at <= now() and (d.lease_until is null or d.lease_until < now())
              and e.enabled and (e.paused_until is null or e.paused_until <= now())
          ),
          due as (
            select d.id from webhook_deliveries d join candidates c on c.id = d.id
            where (c.consecutive_failures = 0 or c.rank = 1)
              and d.status = 'PENDING' and (d.lease_until is null or d.lease_until < now())
            order by d.id limit ${limit}
            for update of d skip locked
          )
          update webhook_deliveries d
          set lease_until = now() + make_interval(secs => ${leaseMs / 1000}), attempts = d.attempts + 1, last_attempt_at = now()
          from due, webhook_events ev, webhook_endpoints e
          where d.id = due.id and ev.id = d.event_id and e.id = d.endpoint_id
          returning d.id, d.endpoint_id, d.event_id, d.attempts, d.created_at, ev.type, ev.data, ev.occurred_at,
                    e.url, e.secret_ciphertext, e.previous_secret_ciphertext, e.previous_secret_expires_at`,
    );
  }

  function headersFor(row: Claimed, body: string, now: Date): Record<string, string> {
    const messageId = messageIdOf(Number(row.event_id));
    const secrets = signingSecrets(
      {
        id: row.endpoint_id,
        secretCiphertext: row.secret_ciphertext,
        previousSecretCiphertext: row.previous_secret_ciphertext,
        previousSecretExpiresAt: row.previous_secret_expires_at === null ? null : new Date(row.previous_secret_expires_at),
      },
      deps.secrets,
      now,
    );
    // During a rotation both secrets sign: a receiver that knows either one verifies.
    const signature = secrets.map((secret) => new Webhook(secret).sign(messageId, now, body)).join(' ');
    return {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'webhook-id': messageId,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': signature,
    };
  }

  async function attempt(row: Claimed): Promise<void> {
    let result: AttemptResult;
    const startedAt = new Date();
    try {
      const body = renderPayload({ id: Number(row.event_id), type: row.type, occurredAt: new Date(row.occurred_at), data: row.data });
      result = await sendAttempt({
        url: row.url,
        headers: headersFor(row, body, startedAt),
        body,
        timeoutMs: config.webhookTimeoutMs,
        maxResponseBytes: config.webhookMaxResponseBytes,
        lookup: deps.targets.lookup,
      });
    } catch (error) {
      result = { ok: false, status: null, latencyMs: 0, error: `could not send: ${(error as Error).message}`, body: null, unavailable: false };
    }
    try {
      await record(row, startedAt, result);
    } catch (error) {
      // The lease runs out and the delivery is sent again: at least once.
      logError(`recording delivery ${row.id}`, error);
    }
  }

  async function record(row: Claimed, attemptedAt: Date, result: AttemptResult): Promise<void> {
    const id = Number(row.id);
    const now = Date.now();
    const createdAt = new Date(row.created_at).getTime();
    const givingUp = !result.ok && now - createdAt >= config.webhookMaxRetryMs;
    const nextAttemptAt = result.ok || givingUp ? null : new Date(now + backoffMs(row.attempts, config.webhookRetryBaseMs, config.webhookRetryMaxIntervalMs));
    const status = result.ok ? 'SUCCEEDED' : givingUp ? 'FAILED' : 'PENDING';
    const disabled = await db.transaction(async (tx) => {
      await queryRows(
        tx,
        sql`insert into webhook_attempts (delivery_id, attempted_at, response_status, latency_ms, error, response_body)
            values (${id}, ${attemptedAt.toISOString()}, ${result.status}, ${result.latencyMs}, ${result.error}, ${result.body})`,
      );
      await queryRows(
        tx,
        sql`update webhook_deliveries set status = ${status}::webhook_delivery_status, lease_until = null,
              next_attempt_at = coalesce(${nextAttemptAt?.toISOString() ?? null}::timestamptz, next_attempt_at),
              last_response_status = ${result.status}, last_latency_ms = ${result.latencyMs}, last_error = ${result.error},
              delivered_at = case when ${result.ok} then now() else delivered_at end
            where id = ${id}`,
      );
      if (result.ok) {
        const [was] = await queryRows<{ failures: number }>(
          tx,
          sql`update webhook_endpoints e set consecutive_failures = 0, failing_since = null, paused_until = null, last_success_at = now()
              from (select consecutive_failures from webhook_endpoints where id = ${row.endpoint_id} for update) old
              where e.id = ${row.endpoint_id}
              returning old.consecutive_failures as failures`,
        );
        // The receiver is back: what waited only because it was away goes now, not at its backoff.
        if (was && Number(was.failures) > 0) {
          await queryRows(
            tx,
            sql`update webhook_deliveries set next_attempt_at = now()
                where endpoint_id = ${row.endpoint_id} and status = 'PENDING' and next_attempt_at > now()`,
          );
        }
        return null;
      }
      const [endpoint] = await queryRows<{ enabled: boolean; failing_since: Date | string; consecutive_failures: number; name: string; ou_id: string }>(
        tx,
        sql`update webhook_endpoints set consecutive_failures = consecutive_failures + 1, failing_since = coalesce(failing_since, now()),
              last_failure_at = now(),
              paused_until = case when ${result.unavailable}
                then now() + make_interval(secs => least(${config.webhookRetryMaxIntervalMs / 1000},
                       ${config.webhookRetryBaseMs / 1000} * power(2, least(consecutive_failures, 30)))) * (0.8 + random() * 0.4)
                else paused_until end
            where id = ${row.endpoint_id}
            returning enabled, failing_since, consecutive_failures, name, ou_id`,
      );
      if (!endpoint?.enabled) return null;
      const failingSince = new Date(endpoint.failing_since);
      if (now - failingSince.getTime() < config.webhookDisableAfterMs) return null;
      const reason =
        `No successful delivery since ${failingSince.toISOString()} (${endpoint.consecutive_failures} failed attempts; last: ${result.error ?? 'failed'}). ` +
        'Fix the receiver, enable the endpoint again, and replay what it missed.';
      await queryRows(tx, sql`update webhook_endpoints set enabled = false, disabled_reason = ${reason}, disabled_at = now() where id = ${row.endpoint_id}`);
      return { ...endpoint, reason };
    });
    if (result.ok) stats.succeeded++;
    else stats.failed++;
    if (givingUp) stats.gaveUp++;
    if (disabled) {
      stats.disabled++;
      deps.log('warn', `webhooks: endpoint ${row.endpoint_id} ("${disabled.name}", unit ${disabled.ou_id}) disabled: ${disabled.reason}`);
    }
  }

  async function pump(): Promise<void> {
    if (!running) return;
    if (pumping) {
      again = true;
      return;
    }
    if (Date.now() < quietUntil) return;
    pumping = true;
    try {
      do {
        again = false;
        while (running && inFlight.size < config.webhookConcurrency) {
          const room = config.webhookConcurrency - inFlight.size;
          const claimed = await claim(room);
          stats.claimed += claimed.length;
          for (const row of claimed) {
            const task = attempt(row).finally(() => {
              inFlight.delete(task);
              void pump();
            });
            inFlight.add(task);
          }
          if (claimed.length < room) break;
        }
      } while (again && running);
    } catch (error) {
      logError('claiming deliveries', error);
      quietUntil = Date.now() + 1000;
    } finally {
      pumping = false;
    }
  }

  return {
    stats,
    start() {
      if (running) return;
      running = true;
      const queued = deps.events.subscribe('webhooks:queued')[Symbol.asyncIterator]();
      queuedEvents = queued;
      void (async () => {
        for (let next = await queued.next(); !next.done; next = await queued.next()) void pump();
      })().catch((error: Error) => deps.log('error', `webhooks: wake-up listener ended: ${error.message}`));
      pollTimer = setInterval(() => void pump(), Math.max(50, config.webhookPollMs));
      pollTimer.unref();
      void pump();
    },
    kick() {
      void pump();
    },
    async close() {
      running = false;
      if (pollTimer) clearInterval(pollTimer);
      await queuedEvents?.return?.();
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
    },
  };
}
