/**
 * Webhook endpoints of an organisation unit: where its events go (docs/integrations.md). Managed
 * with WEBHOOK_ADMIN (or OU_ADMIN). The signing secret is returned once, when it is created or
 * rotated, and kept encrypted (secret-box.ts); a rotation keeps the previous secret signing for an
 * overlap window so receivers can switch without losing a delivery.
 */
import { and, desc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Executor } from '../../db/client.js';
import { otaJobs, products, webhookDeliveries, webhookEndpoints, webhookEvents } from '../../db/schema.js';
import type { Caller } from '../caller.js';
import { InvalidInputError, NotFoundError, PermissionDeniedError } from '../errors.js';
import { queryRows } from '../../db/sql.js';
import type { TransactionScope } from '../transaction.js';
import { parseInput } from '../validation.js';
import { isWebhookEventType, TEST_EVENT_TYPE, WEBHOOK_EVENT_TYPES } from './event-types.js';
import { newSigningSecret, type SecretBox } from './secret-box.js';
import type { TargetPolicy } from './targets.js';

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;

export interface WebhookDeps {
  secrets: SecretBox;
  targets: TargetPolicy;
}

/** Endpoints per unit, at most. */
export const MAX_ENDPOINTS_PER_UNIT = 50;
/** A rotation's overlap: 0 (the old secret stops at once) up to 7 days; 24 hours by default. */
export const MAX_OVERLAP_MINUTES = 7 * 24 * 60;
export const DEFAULT_OVERLAP_MINUTES = 24 * 60;
/** Events one replay may queue, at most (replay a shorter range beyond that). */
export const MAX_REPLAY_EVENTS = 50_000;

export function requireWebhookAdmin(caller: Caller): void {
  if (!caller.permissions.has('WEBHOOK_ADMIN') && !caller.permissions.has('OU_ADMIN')) throw new PermissionDeniedError('WEBHOOK_ADMIN');
}

const eventTypes = z
  .array(z.string())
  .min(1, 'must name at least one event type')
  .max(WEBHOOK_EVENT_TYPES.length * 2)
  .superRefine((list, ctx) => {
    for (const [i, type] of list.entries()) {
      if (!isWebhookEventType(type))
        ctx.addIssue({ code: 'custom', path: [i], message: `unknown event type "${type}"; known: ${WEBHOOK_EVENT_TYPES.join(', ')}` });
    }
  })
  .transform((list) => WEBHOOK_EVENT_TYPES.filter((t) => list.includes(t)));

const name = z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters');
const url = z.string().trim().min(1, 'must not be empty');

const createInput = z.object({
  name,
  url,
  eventTypes,
  productId: z.string().nullish(),
  jobId: z.string().nullish(),
  enabled: z.boolean().nullish(),
});
export type CreateWebhookEndpointInput = z.input<typeof createInput>;

const updateInput = z.object({
  id: z.string(),
  name: name.optional(),
  url: url.optional(),
  eventTypes: eventTypes.optional(),
  /** null clears the filter; undefined leaves it. */
  productId: z.string().nullish(),
  jobId: z.string().nullish(),
  enabled: z.boolean().optional(),
});
export type UpdateWebhookEndpointInput = z.input<typeof updateInput>;

async function checkUrl(targets: TargetPolicy, value: string): Promise<string> {
  const checked = await targets.check(value);
  if (!checked.ok) throw InvalidInputError.single(['input', 'url'], checked.problem);
  return checked.url.toString();
}

/** The filters, checked to be the caller's product and job (and the job of that product). */
async function checkFilters(db: Executor, caller: Caller, productId: string | null, jobId: string | null): Promise<void> {
  if (productId) {
    const [row] = await db
      .select({ id: products.id })
      .from(products)
      .where(and(eq(products.id, productId), eq(products.ouId, caller.ouId)));
    if (!row) throw new NotFoundError('Product', productId);
  }
  if (jobId) {
    const [row] = await db
      .select({ id: otaJobs.id, productId: otaJobs.productId })
      .from(otaJobs)
      .where(and(eq(otaJobs.id, jobId), eq(otaJobs.ouId, caller.ouId)));
    if (!row) throw new NotFoundError('OtaJob', jobId);
    if (productId && row.productId !== productId) throw InvalidInputError.single(['input', 'jobId'], 'is a job of another product than the productId filter');
  }
}

export async function getWebhookEndpoint(db: Executor, caller: Caller, id: string): Promise<WebhookEndpointRow> {
  requireWebhookAdmin(caller);
  const [row] = await db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.ouId, caller.ouId)));
  if (!row) throw new NotFoundError('WebhookEndpoint', id);
  return row;
}

export async function listWebhookEndpoints(db: Executor, caller: Caller): Promise<WebhookEndpointRow[]> {
  requireWebhookAdmin(caller);
  return db.select().from(webhookEndpoints).where(eq(webhookEndpoints.ouId, caller.ouId)).orderBy(desc(webhookEndpoints.createdAt), desc(webhookEndpoints.id));
}

export async function createWebhookEndpoint(
  { tx }: TransactionScope,
  caller: Caller,
  input: CreateWebhookEndpointInput,
  deps: WebhookDeps,
): Promise<{ endpoint: WebhookEndpointRow; secret: string }> {
  requireWebhookAdmin(caller);
  const values = parseInput(createInput, input);
  const target = await checkUrl(deps.targets, values.url);
  await checkFilters(tx, caller, values.productId ?? null, values.jobId ?? null);
  const [{ n }] = await queryRows<{ n: number | string }>(tx, sql`select count(*) as n from webhook_endpoints where ou_id = ${caller.ouId}`);
  if (Number(n) >= MAX_ENDPOINTS_PER_UNIT) {
    throw InvalidInputError.single(['input'], `an organisation unit may have at most ${MAX_ENDPOINTS_PER_UNIT} webhook endpoints`);
  }
  const id = crypto.randomUUID();
  const secret = newSigningSecret();
  const [endpoint] = await tx
    .insert(webhookEndpoints)
    .values({
      id,
      ouId: caller.ouId,
      name: values.name,
      url: target,
      eventTypes: values.eventTypes,
      productId: values.productId ?? null,
      jobId: values.jobId ?? null,
      enabled: values.enabled ?? true,
      disabledAt: values.enabled === false ? new Date() : null,
      secretCiphertext: deps.secrets.seal(secret, id),
      createdBy: caller.userId,
    })
    .returning();
  return { endpoint, secret };
}

export async function updateWebhookEndpoint(
  { tx }: TransactionScope,
  caller: Caller,
  input: UpdateWebhookEndpointInput,
  deps: Pick<WebhookDeps, 'targets'>,
): Promise<WebhookEndpointRow> {
  requireWebhookAdmin(caller);
  const values = parseInput(updateInput, input);
  const current = await getWebhookEndpoint(tx, caller, values.id);
  const productId = values.productId === undefined ? current.productId : values.productId;
  const jobId = values.jobId === undefined ? current.jobId : values.jobId;
  await checkFilters(tx, caller, productId, jobId);
  const changes: Partial<typeof webhookEndpoints.$inferInsert> = { productId, jobId, updatedAt: new Date() };
  if (values.name !== undefined) changes.name = values.name;
  if (values.url !== undefined) changes.url = await checkUrl(deps.targets, values.url);
  if (values.eventTypes !== undefined) changes.eventTypes = values.eventTypes;
  if (values.enabled === true && !current.enabled) {
    // Enabled again: a clean slate; what is still pending goes out now.
    Object.assign(changes, { enabled: true, disabledReason: null, disabledAt: null, consecutiveFailures: 0, failingSince: null, pausedUntil: null });
    await tx
      .update(webhookDeliveries)
      .set({ nextAttemptAt: new Date() })
      .where(and(eq(webhookDeliveries.endpointId, current.id), eq(webhookDeliveries.status, 'PENDING')));
  } else if (values.enabled === false && current.enabled) {
    Object.assign(changes, { enabled: false, disabledReason: null, disabledAt: new Date() });
  }
  const [row] = await tx.update(webhookEndpoints).set(changes).where(eq(webhookEndpoints.id, current.id)).returning();
  return row;
}

/** Deletes the endpoint and its delivery log; nothing more is sent to it. */
export async function deleteWebhookEndpoint({ tx }: TransactionScope, caller: Caller, id: string): Promise<WebhookEndpointRow> {
  const current = await getWebhookEndpoint(tx, caller, id);
  await tx.delete(webhookEndpoints).where(eq(webhookEndpoints.id, current.id));
  return current;
}

const rotateInput = z.object({
  id: z.string(),
  overlapMinutes: z.number().int().min(0).max(MAX_OVERLAP_MINUTES, `must be at most ${MAX_OVERLAP_MINUTES} (7 days)`).default(DEFAULT_OVERLAP_MINUTES),
});

/**
 * A new signing secret. The previous one keeps signing (a second signature in webhook-signature)
 * for `overlapMinutes`; a rotation during an overlap ends the older secret's overlap at once.
 */
export async function rotateWebhookSecret(
  { tx }: TransactionScope,
  caller: Caller,
  input: z.input<typeof rotateInput>,
  deps: Pick<WebhookDeps, 'secrets'>,
  now = new Date(),
): Promise<{ endpoint: WebhookEndpointRow; secret: string }> {
  const values = parseInput(rotateInput, input);
  const current = await getWebhookEndpoint(tx, caller, values.id);
  const secret = newSigningSecret();
  const overlapping = values.overlapMinutes > 0;
  const [endpoint] = await tx
    .update(webhookEndpoints)
    .set({
      secretCiphertext: deps.secrets.seal(secret, current.id),
      previousSecretCiphertext: overlapping ? current.secretCiphertext : null,
      previousSecretExpiresAt: overlapping ? new Date(now.getTime() + values.overlapMinutes * 60_000) : null,
      updatedAt: now,
    })
    .where(eq(webhookEndpoints.id, current.id))
    .returning();
  return { endpoint, secret };
}

/** The secrets that sign a delivery now: the current one, and the previous one during its overlap. */
export function signingSecrets(
  endpoint: Pick<WebhookEndpointRow, 'id' | 'secretCiphertext' | 'previousSecretCiphertext' | 'previousSecretExpiresAt'>,
  secrets: SecretBox,
  now = new Date(),
): string[] {
  const list = [secrets.open(endpoint.secretCiphertext, endpoint.id)];
  if (endpoint.previousSecretCiphertext && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now) {
    list.push(secrets.open(endpoint.previousSecretCiphertext, endpoint.id));
  }
  return list;
}

// ── Deliveries ──────────────────────────────────────────────────────────────────────────────────

export async function getWebhookDelivery(db: Executor, caller: Caller, id: number): Promise<WebhookDeliveryRow> {
  requireWebhookAdmin(caller);
  const [row] = await db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.ouId, caller.ouId)));
  if (!row) throw new NotFoundError('WebhookDelivery', String(id));
  return row;
}

function wake(scope: TransactionScope, deliveries: number) {
  if (deliveries > 0) scope.emit({ topic: 'webhooks:queued', args: [{ deliveries }] });
}

/**
 * Sends a delivery's event to its endpoint again, as a new delivery (the log keeps the old one).
 * It goes behind what is already queued for the same job, like any new delivery.
 */
export async function redeliverWebhook(scope: TransactionScope, caller: Caller, deliveryId: number): Promise<WebhookDeliveryRow> {
  const original = await getWebhookDelivery(scope.tx, caller, deliveryId);
  const [row] = await scope.tx
    .insert(webhookDeliveries)
    .values({ ouId: original.ouId, endpointId: original.endpointId, eventId: original.eventId, lane: original.lane, trigger: 'REDELIVERY' })
    .returning();
  wake(scope, 1);
  return row;
}

const replayInput = z
  .object({
    endpointId: z.string(),
    since: z.date(),
    until: z.date().nullish(),
    eventTypes: eventTypes.nullish(),
  })
  .refine((v) => !v.until || v.until > v.since, { path: ['until'], message: 'must be after since' });

/**
 * Queues again every event the endpoint subscribes to (its current types and filters, narrowed by
 * `eventTypes`) that happened in [since, until), in the order they happened. Events are kept for
 * WEBHOOK_RETENTION_DAYS; an event no endpoint of the unit subscribed to when it happened was never
 * stored, so cannot be replayed.
 */
export async function replayWebhookEvents(
  scope: TransactionScope,
  caller: Caller,
  input: z.input<typeof replayInput>,
): Promise<{ endpoint: WebhookEndpointRow; queued: number }> {
  const values = parseInput(replayInput, input);
  const endpoint = await getWebhookEndpoint(scope.tx, caller, values.endpointId);
  const types = values.eventTypes ? endpoint.eventTypes.filter((t) => values.eventTypes!.includes(t as never)) : endpoint.eventTypes;
  const until = values.until ?? new Date();
  const matching = sql`from webhook_events ev
    where ev.ou_id = ${caller.ouId} and ev.occurred_at >= ${values.since.toISOString()} and ev.occurred_at < ${until.toISOString()}
      and ev.type in (select jsonb_array_elements_text(${JSON.stringify(types)}::jsonb))
      and (${endpoint.productId}::uuid is null or ev.product_id = ${endpoint.productId})
      and (${endpoint.jobId}::uuid is null or ev.job_id = ${endpoint.jobId})`;
  const [{ n }] = await queryRows<{ n: number | string }>(scope.tx, sql`select count(*) as n ${matching}`);
  if (Number(n) > MAX_REPLAY_EVENTS) {
    throw InvalidInputError.single(['input', 'since'], `${n} events match, more than ${MAX_REPLAY_EVENTS} in one replay: replay a shorter range (until)`);
  }
  const rows = await queryRows<{ id: number }>(
    scope.tx,
    sql`insert into webhook_deliveries (ou_id, endpoint_id, event_id, lane, trigger)
        select ev.ou_id, ${endpoint.id}, ev.id, coalesce(ev.job_id::text, ''), 'REPLAY' ${matching}
        order by ev.id
        returning id`,
  );
  wake(scope, rows.length);
  return { endpoint, queued: rows.length };
}

/** A `webhook.test` event to this endpoint alone, to check the receiver and its signature check. */
export async function sendTestWebhook(scope: TransactionScope, caller: Caller, endpointId: string): Promise<WebhookDeliveryRow> {
  const endpoint = await getWebhookEndpoint(scope.tx, caller, endpointId);
  const [event] = await scope.tx
    .insert(webhookEvents)
    .values({ ouId: caller.ouId, type: TEST_EVENT_TYPE, data: { endpointId: endpoint.id } })
    .returning();
  const [row] = await scope.tx
    .insert(webhookDeliveries)
    .values({ ouId: caller.ouId, endpointId: endpoint.id, eventId: event.id, lane: '', trigger: 'TEST' })
    .returning();
  wake(scope, 1);
  return row;
}
