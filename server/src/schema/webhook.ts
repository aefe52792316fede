/** Webhook endpoints, their delivery log, and the mutations that manage and replay them (WEBHOOK_ADMIN or OU_ADMIN). */
import { decodeGlobalID } from '@pothos/plugin-relay';
import { and, desc, eq, lt, sql } from 'drizzle-orm';
import { builder } from '../builder.js';
import { webhookAttempts, webhookDeliveries, WEBHOOK_DELIVERY_STATUSES, WEBHOOK_DELIVERY_TRIGGERS } from '../db/schema.js';
import { InvalidInputError, NotFoundError } from '../domain/errors.js';
import { queryRows } from '../db/sql.js';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  listWebhookEndpoints,
  redeliverWebhook,
  replayWebhookEvents,
  rotateWebhookSecret,
  sendTestWebhook,
  updateWebhookEndpoint,
  type WebhookEndpointRow,
} from '../domain/webhooks/endpoints.js';
import { messageIdOf, payloadSchema, renderPayload, WEBHOOK_EVENT_DESCRIPTIONS, WEBHOOK_EVENT_TYPES } from '../domain/webhooks/event-types.js';
import { assertPageSize, callerOf, decodeId, transact } from './support.js';

export const WEBHOOK_ADMINS = ['WEBHOOK_ADMIN', 'OU_ADMIN'] as const;

const DeliveryStatus = builder.enumType('WebhookDeliveryStatus', {
  values: {
    PENDING: { value: WEBHOOK_DELIVERY_STATUSES[0], description: 'Not delivered yet: waiting for its turn, its next attempt, or its endpoint to be enabled.' },
    SUCCEEDED: { value: WEBHOOK_DELIVERY_STATUSES[1], description: 'The receiver answered 2xx.' },
    FAILED: { value: WEBHOOK_DELIVERY_STATUSES[2], description: 'Given up after WEBHOOK_MAX_RETRY_MS (24 h) of retries; redeliverWebhook sends it again.' },
  },
});

const DeliveryTrigger = builder.enumType('WebhookDeliveryTrigger', {
  values: {
    EVENT: { value: WEBHOOK_DELIVERY_TRIGGERS[0], description: 'The event, when it happened.' },
    REDELIVERY: { value: WEBHOOK_DELIVERY_TRIGGERS[1], description: 'redeliverWebhook.' },
    REPLAY: { value: WEBHOOK_DELIVERY_TRIGGERS[2], description: 'replayWebhookEvents.' },
    TEST: { value: WEBHOOK_DELIVERY_TRIGGERS[3], description: 'sendTestWebhook.' },
  },
});

const EndpointStatus = builder.enumType('WebhookEndpointStatus', {
  values: {
    ACTIVE: { description: 'Enabled, and its last attempt succeeded (or none was made yet).' },
    FAILING: { description: 'Enabled, but attempts have failed since failingSince: deliveries are retried with backoff.' },
    DISABLED: { description: 'Nothing is sent. disabledReason says why when the server disabled it after sustained failure.' },
  },
});

function endpointStatus(e: Pick<WebhookEndpointRow, 'enabled' | 'failingSince'>): 'ACTIVE' | 'FAILING' | 'DISABLED' {
  if (!e.enabled) return 'DISABLED';
  return e.failingSince ? 'FAILING' : 'ACTIVE';
}

const WebhookEventType = builder.objectRef<(typeof WEBHOOK_EVENT_TYPES)[number]>('WebhookEventType').implement({
  description: 'A type of event an endpoint may subscribe to.',
  fields: (t) => ({
    name: t.string({ description: 'e.g. "task.failed".', resolve: (type) => type }),
    description: t.string({ resolve: (type) => WEBHOOK_EVENT_DESCRIPTIONS[type] }),
    schema: t.string({
      description: "The JSON Schema (draft 2020-12) of this event's payload, as JSON text.",
      resolve: (type) => JSON.stringify(payloadSchema(type)),
    }),
  }),
});

builder.queryField('webhookEventTypes', (t) =>
  t.field({
    type: [WebhookEventType],
    authScopes: { anyPermission: WEBHOOK_ADMINS },
    resolve: () => [...WEBHOOK_EVENT_TYPES],
  }),
);

const WebhookAttempt = builder.objectRef<typeof webhookAttempts.$inferSelect>('WebhookAttempt').implement({
  fields: (t) => ({
    attemptedAt: t.expose('attemptedAt', { type: 'DateTime' }),
    responseStatus: t.exposeInt('responseStatus', { nullable: true, description: "The receiver's HTTP status; null when there was no answer." }),
    latencyMs: t.exposeInt('latencyMs'),
    error: t.exposeString('error', { nullable: true }),
    responseBody: t.exposeString('responseBody', { nullable: true, description: "The start of the receiver's answer (WEBHOOK_MAX_RESPONSE_BYTES at most)." }),
  }),
});

export const WebhookDelivery = builder.drizzleNode('webhookDeliveries', {
  name: 'WebhookDelivery',
  id: { column: (d) => d.id },
  description: 'One event sent (or to be sent) to one endpoint, with every attempt.',
  authScopes: { anyPermission: WEBHOOK_ADMINS },
  fields: (t) => ({
    endpoint: t.relation('endpoint'),
    messageId: t.string({
      description: 'The webhook-id header: the same for every delivery of one event (receivers deduplicate on it).',
      select: { columns: { eventId: true } },
      resolve: (d) => messageIdOf(d.eventId),
    }),
    eventType: t.string({ select: { with: { event: { columns: { type: true } } } }, resolve: (d) => d.event.type }),
    occurredAt: t.field({ type: 'DateTime', select: { with: { event: { columns: { occurredAt: true } } } }, resolve: (d) => d.event.occurredAt }),
    payload: t.string({
      description: 'The body sent (signed as it is).',
      select: { with: { event: { columns: { id: true, type: true, occurredAt: true, data: true } } } },
      resolve: (d) => renderPayload(d.event),
    }),
    trigger: t.expose('trigger', { type: DeliveryTrigger }),
    status: t.expose('status', { type: DeliveryStatus }),
    attempts: t.exposeInt('attempts'),
    nextAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it is sent next (pending only; later if its endpoint is paused, or a delivery of the same job is before it).',
      select: { columns: { status: true, nextAttemptAt: true } },
      resolve: (d) => (d.status === 'PENDING' ? d.nextAttemptAt : null),
    }),
    lastAttemptAt: t.expose('lastAttemptAt', { type: 'DateTime', nullable: true }),
    responseStatus: t.exposeInt('lastResponseStatus', { nullable: true, description: "The last attempt's HTTP status." }),
    latencyMs: t.exposeInt('lastLatencyMs', { nullable: true, description: "The last attempt's duration." }),
    error: t.exposeString('lastError', { nullable: true, description: 'What went wrong in the last attempt.' }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was queued.' }),
    attemptLog: t.field({
      type: [WebhookAttempt],
      description: 'The attempts, newest first (at most 50).',
      select: { columns: { id: true } },
      resolve: (d, _args, context) =>
        context.services.db.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, d.id)).orderBy(desc(webhookAttempts.id)).limit(50),
    }),
  }),
});

const DeliveryPage = builder.objectRef<{
  nodes: (typeof webhookDeliveries.$inferSelect)[];
  totalCount: number;
  endCursor: string | null;
  hasNextPage: boolean;
}>('WebhookDeliveryPage');

export const WebhookEndpoint = builder.drizzleNode('webhookEndpoints', {
  name: 'WebhookEndpoint',
  id: { column: (e) => e.id },
  description: 'Where events of the unit are sent. The signing secret is shown only when created or rotated.',
  authScopes: { anyPermission: WEBHOOK_ADMINS },
  fields: (t) => ({
    name: t.exposeString('name'),
    url: t.exposeString('url'),
    eventTypes: t.exposeStringList('eventTypes'),
    product: t.relation('product', { nullable: true, description: "Only this product's jobs' events (null: every product)." }),
    job: t.relation('job', { nullable: true, description: "Only this job's events (null: every job)." }),
    enabled: t.exposeBoolean('enabled'),
    status: t.field({
      type: EndpointStatus,
      select: { columns: { enabled: true, failingSince: true } },
      resolve: (e) => endpointStatus(e),
    }),
    disabledReason: t.exposeString('disabledReason', { nullable: true, description: 'Why the server disabled it (null when a user did, or it is enabled).' }),
    disabledAt: t.expose('disabledAt', { type: 'DateTime', nullable: true }),
    failingSince: t.expose('failingSince', { type: 'DateTime', nullable: true, description: 'First failed attempt since the last success.' }),
    consecutiveFailures: t.exposeInt('consecutiveFailures'),
    lastSuccessAt: t.expose('lastSuccessAt', { type: 'DateTime', nullable: true }),
    lastFailureAt: t.expose('lastFailureAt', { type: 'DateTime', nullable: true }),
    pausedUntil: t.expose('pausedUntil', { type: 'DateTime', nullable: true, description: 'The receiver looked unavailable: nothing is sent before then.' }),
    previousSecretExpiresAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'During a secret rotation: until when the previous secret signs too.',
      select: { columns: { previousSecretExpiresAt: true } },
      resolve: (e) => (e.previousSecretExpiresAt && e.previousSecretExpiresAt > new Date() ? e.previousSecretExpiresAt : null),
    }),
    pendingDeliveries: t.int({
      select: { columns: { id: true } },
      resolve: async (e, _args, context) => {
        const [row] = await queryRows<{ n: number | string }>(
          context.services.db,
          sql`select count(*) as n from webhook_deliveries where endpoint_id = ${e.id} and status = 'PENDING'`,
        );
        return Number(row.n);
      },
    }),
    deliveries: t.field({
      type: DeliveryPage,
      description: 'The delivery log, newest first.',
      args: {
        status: t.arg({ type: DeliveryStatus }),
        eventType: t.arg.string(),
        first: t.arg.int({ description: 'At most 500; default 20.' }),
        after: t.arg.string({ description: 'endCursor of the previous page.' }),
      },
      select: { columns: { id: true, ouId: true } },
      resolve: async (e, args, context) => {
        assertPageSize(args);
        const first = args.first ?? 20;
        const before = args.after ? Number(args.after) : null;
        if (args.after && !Number.isSafeInteger(before)) throw InvalidInputError.single(['after'], 'is not a cursor of this list');
        const filters = and(
          eq(webhookDeliveries.endpointId, e.id),
          args.status ? eq(webhookDeliveries.status, args.status) : undefined,
          args.eventType
            ? sql`${webhookDeliveries.eventId} in (select id from webhook_events where type = ${args.eventType} and ou_id = ${e.ouId})`
            : undefined,
        );
        const [rows, [count]] = await Promise.all([
          context.services.db
            .select()
            .from(webhookDeliveries)
            .where(and(filters, before !== null ? lt(webhookDeliveries.id, before) : undefined))
            .orderBy(desc(webhookDeliveries.id))
            .limit(first + 1),
          context.services.db.select({ n: sql<number>`count(*)` }).from(webhookDeliveries).where(filters),
        ]);
        const nodes = rows.slice(0, first);
        return { nodes, totalCount: Number(count.n), endCursor: nodes.length ? String(nodes[nodes.length - 1].id) : null, hasNextPage: rows.length > first };
      },
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

DeliveryPage.implement({
  fields: (t) => ({
    nodes: t.field({
      type: [WebhookDelivery],
      // Rows as read; the drizzle plugin loads what a selection needs beyond them (the event).
      resolve: (page) => page.nodes,
    }),
    totalCount: t.exposeInt('totalCount'),
    endCursor: t.exposeString('endCursor', { nullable: true }),
    hasNextPage: t.exposeBoolean('hasNextPage'),
  }),
});

builder.queryField('webhookEndpoints', (t) =>
  t.field({
    type: [WebhookEndpoint],
    description: "The unit's webhook endpoints, newest first.",
    authScopes: { anyPermission: WEBHOOK_ADMINS },
    resolve: (_root, _args, context) => listWebhookEndpoints(context.services.db, callerOf(context)),
  }),
);

// ── Mutations ───────────────────────────────────────────────────────────────────────────────────

const optionalId = (id: string | number | null | undefined, typename: string) =>
  id === null ? null : id === undefined ? undefined : decodeId(String(id), typename);

/** A WebhookDelivery global ID (its key is an integer); anything else is NotFoundError. */
function deliveryIdArg(id: string | number): number {
  try {
    const decoded = decodeGlobalID(String(id));
    if (decoded.typename === 'WebhookDelivery' && /^[1-9][0-9]{0,15}$/.test(decoded.id)) return Number(decoded.id);
  } catch {
    // fall through
  }
  throw new NotFoundError('WebhookDelivery', String(id));
}

const CreateInput = builder.inputType('CreateWebhookEndpointInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: 'Up to 100 characters.' }),
    url: t.string({ required: true, description: 'http(s); must resolve to public addresses unless the server allows the target (WEBHOOK_ALLOWED_TARGETS).' }),
    eventTypes: t.stringList({ required: true, description: 'At least one of webhookEventTypes.' }),
    productId: t.id({ description: 'Only events of this product.' }),
    jobId: t.id({ description: 'Only events of this job.' }),
    enabled: t.boolean({ description: 'Default true.' }),
  }),
});

const CreatedEndpoint = builder.objectRef<{ endpoint: WebhookEndpointRow; secret: string }>('CreatedWebhookEndpoint').implement({
  fields: (t) => ({
    endpoint: t.field({ type: WebhookEndpoint, resolve: (r) => r.endpoint }),
    secret: t.exposeString('secret', {
      description: 'The signing secret (Standard Webhooks, whsec_…). Shown only now: it is stored encrypted and never shown again.',
    }),
  }),
});

builder.mutationField('createWebhookEndpoint', (t) =>
  t.field({
    type: CreatedEndpoint,
    authScopes: { anyPermission: WEBHOOK_ADMINS },
    args: { input: t.arg({ type: CreateInput, required: true }) },
    errors: { types: [InvalidInputError, NotFoundError] },
    resolve: (_root, { input }, context) =>
      transact(context, (scope) =>
        createWebhookEndpoint(
          scope,
          callerOf(context),
          { ...input, productId: optionalId(input.productId, 'Product'), jobId: optionalId(input.jobId, 'OtaJob') },
          context.services.webhooks,
        ),
      ),
  }),
);

const UpdateInput = builder.inputType('UpdateWebhookEndpointInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string(),
    url: t.string(),
    eventTypes: t.stringList(),
    productId: t.id({ description: 'null clears the filter.' }),
    jobId: t.id({ description: 'null clears the filter.' }),
    enabled: t.boolean({ description: 'true after the server disabled it: a clean slate, and what is still pending goes out at once.' }),
  }),
});

builder.mutationField('updateWebhookEndpoint', (t) =>
  t.field({
    type: WebhookEndpoint,
    authScopes: { anyPermission: WEBHOOK_ADMINS },
    args: { input: t.arg({ type: UpdateInput, required: true }) },
    errors: { types: [InvalidInputError, NotFoundError] },
    resolve: (_root, { input }, context) =>
      transact(context, (scope) =>
        updateWebhookEndpoint(
          scope,
          callerOf(context),
          {
            id: decodeId(String(input.id), 'WebhookEndpoint'),
            name: input.name ?? undefined,
            url: input.url ?? undefined,
            eventTypes: input.eventTypes ?? undefined,
            enabled: input.enabled ?? undefined,
            productId: optionalId(input.productId, 'Product'),
            jobId: optionalId(input.jobId, 'OtaJob'),
          },
          context.services.webhooks,
        ),
      ),
  }),
);

const DeletedEndpoint = builder.objectRef<WebhookEndpointRow>('DeletedWebhookEndpoint').implement({
  fields: (t) => ({ id: t.exposeID('id', { description: 'The deleted endpoint (its database id).' }), name: t.exposeString('name') }),
});

builder.mutationField('deleteWebhookEndpoint', (t) =>
  t.field({
    type: DeletedEndpoint,
    description: 'Deletes the endpoint and its delivery log.',
    authScopes: { anyPermission: WEBHOOK_ADMINS },
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError] },
    resolve: (_root, { id }, context) => transact(context, (scope) => deleteWebhookEndpoint(scope, callerOf(context), decodeId(String(id), 'WebhookEndpoint'))),
  }),
);

const RotateInput = builder.inputType('RotateWebhookSecretInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    overlapMinutes: t.int({ description: 'How long the previous secret keeps signing too: 0 to 10080 (7 days); default 1440 (24 h).' }),
  }),
});

const RotatedSecret = builder.objectRef<{ endpoint: WebhookEndpointRow; secret: string }>('RotatedWebhookSecret').implement({
  fields: (t) => ({
    endpoint: t.field({ type: WebhookEndpoint, resolve: (r) => r.endpoint }),
    secret: t.exposeString('secret', { description: 'The new signing secret. Shown only now.' }),
  }),
});

builder.mutationField('rotateWebhookSecret', (t) =>
  t.field({
    type: RotatedSecret,
    description: 'A new signing secret; during the overlap both secrets sign every delivery (two signatures in webhook-signature).',
    authScopes: { anyPermission: WEBHOOK_ADMINS },
    args: { input: t.arg({ type: RotateInput, required: true }) },
    errors: { types: [InvalidInputError, NotFoundError] },
    resolve: (_root, { input }, context) =>
      transact(context, (scope) =>
        rotateWebhookSecret(
          scope,
          callerOf(context),
          { id: decodeId(String(input.id), 'WebhookEndpoint'), overlapMinutes: input.overlapMinutes ?? undefined },
          context.services.webhooks,
        ),
      ),
  }),
);

builder.mutationField('redeliverWebhook', (t) =>
  t.drizzleField({
    type: 'webhookDeliveries',
    description: "Sends a delivery's event to its endpoint again, as a new delivery (behind what is already queued for the same job).",
    authScopes: { anyPermission: WEBHOOK_ADMINS },
    args: { id: t.arg.id({ required: true, description: 'A WebhookDelivery.' }) },
    errors: { types: [NotFoundError] },
    resolve: (_query, _root, { id }, context) => transact(context, (scope) => redeliverWebhook(scope, callerOf(context), deliveryIdArg(id))),
  }),
);

const ReplayInput = builder.inputType('ReplayWebhookEventsInput', {
  fields: (t) => ({
    endpointId: t.id({ required: true }),
    since: t.field({ type: 'DateTime', required: true }),
    until: t.field({ type: 'DateTime', description: 'Default: now.' }),
    eventTypes: t.stringList({ description: "Default: the endpoint's event types." }),
  }),
});

const Replayed = builder.objectRef<{ endpoint: WebhookEndpointRow; queued: number }>('ReplayedWebhookEvents').implement({
  fields: (t) => ({
    endpoint: t.field({ type: WebhookEndpoint, resolve: (r) => r.endpoint }),
    deliveriesQueued: t.exposeInt('queued'),
  }),
});

builder.mutationField('replayWebhookEvents', (t) =>
  t.field({
    type: Replayed,
    description:
      'Queues again, in the order they happened, every event of [since, until) that the endpoint subscribes to (its types and filters). Events are kept WEBHOOK_RETENTION_DAYS (30 days); at most 50,000 per replay.',
    authScopes: { anyPermission: WEBHOOK_ADMINS },
    args: { input: t.arg({ type: ReplayInput, required: true }) },
    errors: { types: [InvalidInputError, NotFoundError] },
    resolve: (_root, { input }, context) =>
      transact(context, (scope) =>
        replayWebhookEvents(scope, callerOf(context), {
          endpointId: decodeId(String(input.endpointId), 'WebhookEndpoint'),
          since: input.since,
          until: input.until ?? undefined,
          eventTypes: input.eventTypes ?? undefined,
        }),
      ),
  }),
);

builder.mutationField('sendTestWebhook', (t) =>
  t.drizzleField({
    type: 'webhookDeliveries',
    description: 'Sends a "webhook.test" event to this endpoint alone, to check the receiver and its signature verification.',
    authScopes: { anyPermission: WEBHOOK_ADMINS },
    args: { id: t.arg.id({ required: true, description: 'A WebhookEndpoint.' }) },
    errors: { types: [NotFoundError] },
    resolve: (_query, _root, { id }, context) =>
      transact(context, (scope) => sendTestWebhook(scope, callerOf(context), decodeId(String(id), 'WebhookEndpoint'))),
  }),
);
