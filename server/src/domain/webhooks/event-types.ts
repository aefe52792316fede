/**
 * The webhook events: their types, the facts the outbox keeps for each (`data` of webhook_events,
 * written by domain/webhooks/outbox.ts) and the payload sent, rendered from those facts with the
 * API's global IDs. Every payload is `{ type, timestamp, data }` (the Standard Webhooks shape) and
 * is described by a JSON Schema below (served at /webhooks/schema.json, copied to docs/).
 *
 * To add an event type: add it to WEBHOOK_EVENT_TYPES with its description, its data schema and
 * its renderer, and queue it where the change happens (in the change's transaction).
 */
import { encodeGlobalID } from '@pothos/plugin-relay';
import { FAILURE_REASONS, JOB_STATUSES } from '../../db/schema.js';

export const WEBHOOK_EVENT_TYPES = ['job.created', 'job.status_changed', 'job.progress', 'task.succeeded', 'task.failed', 'firmware.verified'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Sent only by sendTestWebhook, to the one endpoint named; no endpoint subscribes to it. */
export const TEST_EVENT_TYPE = 'webhook.test';

export const WEBHOOK_EVENT_DESCRIPTIONS: Record<WebhookEventType, string> = {
  'job.created': 'A verification or upgrade job was created.',
  'job.status_changed': "A job's status changed: started, stopped by a user, aborted by its failure threshold, resumed, finished, cancelled or reopened.",
  'job.progress': "A job's progress and status counts changed (coalesced: at most one event per job per WEBHOOK_PROGRESS_INTERVAL_MS).",
  'task.succeeded': 'A device of a job upgraded successfully (Upgrade Successful).',
  'task.failed': 'A device of a job failed for good (Upgrade Failed), with the reason, its detail and the versions.',
  'firmware.verified': 'A verification job verified its firmware: upgrade jobs may now use it.',
};

export function isWebhookEventType(value: string): value is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value);
}

/** What job.status_changed says happened. */
export const JOB_STATUS_CHANGES = ['STARTED', 'STOPPED', 'ABORTED', 'RESUMED', 'FINISHED', 'CANCELLED', 'REOPENED', 'WAITING_FOR_APPROVAL'] as const;
export type JobStatusChange = (typeof JOB_STATUS_CHANGES)[number];

// ── Facts kept in the outbox (raw database ids; written by SQL in outbox.ts) ────────────────────

/** The job as the outbox reads it in the change's transaction. */
export interface JobFacts {
  jobId: string;
  name: string;
  jobType: string;
  status: string;
  productId: string;
  productKey: string;
  firmwareId: string;
  firmwareVersion: string;
}

export interface TaskFacts extends JobFacts {
  taskId: number;
  deviceKey: string;
  deviceId: string | null;
  attempt: number;
  currentVersion: string | null;
  failureReason: string | null;
  failureDetail: string | null;
  finishedAt: string | null;
}

export interface StoredEvent {
  id: number;
  type: string;
  occurredAt: Date;
  data: Record<string, unknown>;
}

// ── Rendering ───────────────────────────────────────────────────────────────────────────────────

const gid = (type: string, id: string | number | null | undefined) => (id === null || id === undefined ? null : encodeGlobalID(type, String(id)));

function jobRef(f: JobFacts) {
  return {
    id: gid('OtaJob', f.jobId),
    name: f.name,
    type: f.jobType,
    status: f.status,
    product: { id: gid('Product', f.productId), productKey: f.productKey },
    firmware: { id: gid('Firmware', f.firmwareId), version: f.firmwareVersion },
  };
}

function jobDeviceRef(f: TaskFacts) {
  return {
    id: gid('JobDevice', f.taskId),
    deviceKey: f.deviceKey,
    device: f.deviceId ? { id: gid('Device', f.deviceId) } : null,
    attempt: f.attempt,
  };
}

function renderData(type: string, facts: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case 'job.created':
      return { job: jobRef(facts as unknown as JobFacts) };
    case 'job.status_changed': {
      const f = facts as unknown as JobFacts & { previousStatus: string; change: JobStatusChange; reason: string | null };
      return { job: jobRef(f), previousStatus: f.previousStatus, status: f.status, change: f.change, reason: f.reason ?? null };
    }
    case 'job.progress': {
      const f = facts as unknown as JobFacts & { counts: Record<string, number> };
      const c = f.counts;
      const total = c.toBePushed + c.pushed + c.inProgress + c.succeeded + c.failed;
      return {
        job: jobRef(f),
        progress: total === 0 ? 0 : Math.round(((c.succeeded + c.failed) / total) * 10_000) / 100,
        deviceCount: total,
        statusCounts: { toBePushed: c.toBePushed, pushed: c.pushed, inProgress: c.inProgress, succeeded: c.succeeded, failed: c.failed },
      };
    }
    case 'task.succeeded': {
      const f = facts as unknown as TaskFacts;
      return { job: jobRef(f), jobDevice: jobDeviceRef(f), version: f.currentVersion ?? f.firmwareVersion, succeededAt: iso(f.finishedAt) };
    }
    case 'task.failed': {
      const f = facts as unknown as TaskFacts;
      return {
        job: jobRef(f),
        jobDevice: jobDeviceRef(f),
        reason: f.failureReason,
        detail: f.failureDetail,
        version: f.currentVersion,
        targetVersion: f.firmwareVersion,
        failedAt: iso(f.finishedAt),
      };
    }
    case 'firmware.verified': {
      const f = facts as unknown as JobFacts & { firmwareName: string };
      return {
        firmware: {
          id: gid('Firmware', f.firmwareId),
          name: f.firmwareName,
          version: f.firmwareVersion,
          product: { id: gid('Product', f.productId), productKey: f.productKey },
        },
        job: jobRef(f),
      };
    }
    case TEST_EVENT_TYPE:
      return { endpoint: { id: gid('WebhookEndpoint', facts.endpointId as string) }, message: 'A test event sent from Updraft.' };
    default:
      return facts;
  }
}

function iso(value: string | null | undefined): string | null {
  return value ? new Date(value).toISOString() : null;
}

/** The payload of an event, as sent (the body of the POST, signed as it is). */
export function renderPayload(event: StoredEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.occurredAt.toISOString(), data: renderData(event.type, event.data) });
}

/** The Standard Webhooks message id: the same for every delivery of one event (receivers dedupe on it). */
export function messageIdOf(eventId: number): string {
  return `msg_${eventId.toString(36).padStart(8, '0')}`;
}

// ── JSON Schemas (draft 2020-12) of the payloads ────────────────────────────────────────────────

const globalId = { type: 'string', description: 'A global ID, as the GraphQL API uses (node(id:) resolves it).' };
const dateTime = { type: 'string', format: 'date-time' };
const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: 'null' }] });

const JOB_REF = {
  type: 'object',
  required: ['id', 'name', 'type', 'status', 'product', 'firmware'],
  additionalProperties: false,
  properties: {
    id: globalId,
    name: { type: 'string' },
    type: { enum: ['VERIFICATION', 'UPGRADE'] },
    status: { enum: [...JOB_STATUSES], description: 'The status when the event happened.' },
    product: {
      type: 'object',
      required: ['id', 'productKey'],
      additionalProperties: false,
      properties: { id: globalId, productKey: { type: 'string' } },
    },
    firmware: {
      type: 'object',
      required: ['id', 'version'],
      additionalProperties: false,
      properties: { id: globalId, version: { type: 'string', description: 'The version the job upgrades to.' } },
    },
  },
};

const JOB_DEVICE_REF = {
  type: 'object',
  required: ['id', 'deviceKey', 'device', 'attempt'],
  additionalProperties: false,
  properties: {
    id: { ...globalId, description: 'The JobDevice (the device in this job).' },
    deviceKey: { type: 'string' },
    device: nullable({ type: 'object', required: ['id'], additionalProperties: false, properties: { id: globalId } }),
    attempt: { type: 'integer', minimum: 1, description: 'Which attempt this was (retries start new attempts).' },
  },
};

const DATA_SCHEMAS: Record<WebhookEventType, Record<string, unknown>> = {
  'job.created': { type: 'object', required: ['job'], additionalProperties: false, properties: { job: JOB_REF } },
  'job.status_changed': {
    type: 'object',
    required: ['job', 'previousStatus', 'status', 'change', 'reason'],
    additionalProperties: false,
    properties: {
      job: JOB_REF,
      previousStatus: { enum: [...JOB_STATUSES] },
      status: { enum: [...JOB_STATUSES] },
      change: {
        enum: [...JOB_STATUS_CHANGES],
        description:
          'STARTED: a scheduled job started (on schedule or by hand). STOPPED: a user stopped it. ABORTED: its abort threshold stopped it. RESUMED: a stopped job runs again. FINISHED: every task is final. CANCELLED: a user cancelled it. REOPENED: a finished job runs again (retried devices, a widened scope). WAITING_FOR_APPROVAL: a wave of its rollout passed and the next waits for an approval (approveNextWave resumes it: RESUMED; the error threshold of a wave stopping the job is ABORTED).',
      },
      reason: nullable({ type: 'string', description: 'Why, when the server decided it (e.g. the abort threshold that was exceeded).' }),
    },
  },
  'job.progress': {
    type: 'object',
    required: ['job', 'progress', 'deviceCount', 'statusCounts'],
    additionalProperties: false,
    properties: {
      job: JOB_REF,
      progress: { type: 'number', minimum: 0, maximum: 100, description: 'Final devices (succeeded + failed) / all × 100, as OtaJob.progress.' },
      deviceCount: { type: 'integer', minimum: 0 },
      statusCounts: {
        type: 'object',
        required: ['toBePushed', 'pushed', 'inProgress', 'succeeded', 'failed'],
        additionalProperties: false,
        properties: Object.fromEntries(['toBePushed', 'pushed', 'inProgress', 'succeeded', 'failed'].map((k) => [k, { type: 'integer', minimum: 0 }])),
      },
    },
  },
  'task.succeeded': {
    type: 'object',
    required: ['job', 'jobDevice', 'version', 'succeededAt'],
    additionalProperties: false,
    properties: {
      job: JOB_REF,
      jobDevice: JOB_DEVICE_REF,
      version: { type: 'string', description: 'The version the device reported.' },
      succeededAt: dateTime,
    },
  },
  'task.failed': {
    type: 'object',
    required: ['job', 'jobDevice', 'reason', 'detail', 'version', 'targetVersion', 'failedAt'],
    additionalProperties: false,
    properties: {
      job: JOB_REF,
      jobDevice: JOB_DEVICE_REF,
      reason: { enum: FAILURE_REASONS },
      detail: nullable({ type: 'string', description: "The failure's detail (the device's description, the reply code…)." }),
      version: nullable({ type: 'string', description: "The device's version as last reported." }),
      targetVersion: { type: 'string', description: 'The version the job upgrades to.' },
      failedAt: dateTime,
    },
  },
  'firmware.verified': {
    type: 'object',
    required: ['firmware', 'job'],
    additionalProperties: false,
    properties: {
      firmware: {
        type: 'object',
        required: ['id', 'name', 'version', 'product'],
        additionalProperties: false,
        properties: {
          id: globalId,
          name: { type: 'string' },
          version: { type: 'string' },
          product: JOB_REF.properties.product,
        },
      },
      job: { ...JOB_REF, description: 'The verification job that verified it.' },
    },
  },
};

/** The JSON Schema of one event type's payload. */
export function payloadSchema(type: WebhookEventType): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `https://updraft.dev/schemas/webhooks/${type}.json`,
    title: type,
    description: WEBHOOK_EVENT_DESCRIPTIONS[type],
    type: 'object',
    required: ['type', 'timestamp', 'data'],
    additionalProperties: false,
    properties: { type: { const: type }, timestamp: { ...dateTime, description: 'When the change happened (its commit).' }, data: DATA_SCHEMAS[type] },
  };
}

/** Every event type's schema in one document (docs/webhook-events.schema.json). */
export function allPayloadSchemas(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://updraft.dev/schemas/webhooks.json',
    title: 'Updraft webhook payloads',
    description:
      'The body of every webhook Updraft sends: { type, timestamp, data }. Signed with Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature headers).',
    oneOf: WEBHOOK_EVENT_TYPES.map((type) => ({ $ref: `#/$defs/${type}` })),
    $defs: Object.fromEntries(WEBHOOK_EVENT_TYPES.map((type) => [type, payloadSchema(type)])),
  };
}
