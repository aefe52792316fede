/**
 * The database model. camelCase here, snake_case in SQL (through `snakeCase.table`).
 * Migrations under /drizzle are generated from this file by drizzle-kit; never edit them by hand.
 *
 * Every tenant-owned table carries `ouId` (denormalised where a parent already has it) so that
 * every domain query can be scoped to the caller's organisation unit with one indexed predicate.
 */
import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  bigint,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgEnum,
  primaryKey,
  pgSequence,
  smallint,
  snakeCase,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { SIGN_METHODS } from './sign-methods.js';

/**
 * Device keys and product keys compare byte-wise (collation "C"): ordering is the same on every
 * server whatever its locale, and a btree index serves both `ORDER BY` and `LIKE 'prefix%'`.
 */
const keyText = customType<{ data: string; driverData: string }>({
  dataType: () => 'text COLLATE "C"',
});

const createdAt = () => timestamp({ withTimezone: true }).notNull().defaultNow();

/** The owning organisation unit (every tenant-owned row has one). */
const ouReference = () =>
  uuid()
    .notNull()
    .references(() => organisationUnits.id);

/** The product a device, firmware or job belongs to. */
const productReference = () =>
  uuid()
    .notNull()
    .references(() => products.id);

// ── Enums (their values are the public GraphQL enum values) ─────────────────────────────────────

export const PERMISSIONS = [
  'FIRMWARE_READ',
  'FIRMWARE_WRITE',
  'FIRMWARE_DELETE',
  'OTA_READ',
  'OTA_CREATE',
  'OTA_CONTROL',
  'DEVICE_READ',
  'DEVICE_WRITE',
  'OU_ADMIN',
  'WEBHOOK_ADMIN',
] as const;
export type Permission = (typeof PERMISSIONS)[number];
export const permissionEnum = pgEnum('permission', PERMISSIONS);

export const JOB_TYPES = ['VERIFICATION', 'UPGRADE'] as const;
export type JobType = (typeof JOB_TYPES)[number];
export const jobTypeEnum = pgEnum('ota_job_type', JOB_TYPES);

export const JOB_STATUSES = ['SCHEDULED', 'RUNNING', 'STOPPED', 'FINISHED', 'CANCELLED', 'WAITING_FOR_APPROVAL'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const jobStatusEnum = pgEnum('ota_job_status', JOB_STATUSES);

export const TASK_STATUSES = ['TO_BE_PUSHED', 'PUSHED', 'IN_PROGRESS', 'SUCCEEDED', 'FAILED'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const taskStatusEnum = pgEnum('upgrade_status', TASK_STATUSES);

export const FAILURE_REASONS = [
  'CANCELLED_BY_USER',
  'DEVICE_IGNORED',
  'VERSION_NOT_IN_SCOPE',
  'WRITE_FAILED',
  'DOWNLOAD_FAILED',
  'VERIFICATION_FAILED',
  'LAST_UPGRADE_IN_PROGRESS',
  'DEVICE_NOT_FOUND',
  'UNDEFINED',
  'TIMEOUT',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];
export const failureReasonEnum = pgEnum('failure_reason', FAILURE_REASONS);

export const WAITING_REASONS = [
  'OFFLINE',
  'CONCURRENCY_LIMIT',
  'OUTSIDE_WINDOW',
  'RATE_LIMIT',
  'JOB_STOPPED',
  'SCHEDULED',
  'RETRY_INTERVAL',
  'WAVE_NOT_STARTED',
  'WAITING_FOR_APPROVAL',
] as const;
export type WaitingReason = (typeof WAITING_REASONS)[number];
export const waitingReasonEnum = pgEnum('waiting_reason', WAITING_REASONS);

export { SIGN_METHODS, type SignMethod } from './sign-methods.js';
export const signMethodEnum = pgEnum('sign_method', SIGN_METHODS);

export const JOB_POLICIES = ['SNAPSHOT', 'INCREMENTAL'] as const;
export type JobPolicy = (typeof JOB_POLICIES)[number];
export const jobPolicyEnum = pgEnum('ota_job_policy', JOB_POLICIES);

/** ALL: every device of the product; DEVICE_KEYS: the listed keys. Versions and tags narrow either. */
export const TARGET_MODES = ['ALL', 'DEVICE_KEYS'] as const;
export type TargetMode = (typeof TARGET_MODES)[number];
export const targetModeEnum = pgEnum('ota_target_mode', TARGET_MODES);

/**
 * A wave of a phased rollout (domain/jobs/wave-rules.ts): PENDING until it starts; RUNNING while its
 * devices are pushed and its success threshold is not reached; SOAKING once reached, for its soak
 * time; WAITING_FOR_APPROVAL after that when it has an approval gate; PASSED once the next wave
 * started (or, for the last wave, once reached); FAILED when its error threshold stopped the job or
 * it ended below its success threshold.
 */
export const WAVE_STATUSES = ['PENDING', 'RUNNING', 'SOAKING', 'WAITING_FOR_APPROVAL', 'PASSED', 'FAILED'] as const;
export type WaveStatus = (typeof WAVE_STATUSES)[number];
export const waveStatusEnum = pgEnum('wave_status', WAVE_STATUSES);

export interface TagFilter {
  key: string;
  value: string;
}

/** One changed field of a job edit, as recorded in the edit history. */
export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

// ── Tenancy and identities ──────────────────────────────────────────────────────────────────────

export const organisationUnits = snakeCase.table('organisation_units', {
  id: uuid().primaryKey().defaultRandom(),
  name: text().notNull().unique(),
  /** Pushed + In Progress tasks across all of this unit's jobs; null = the server's default. */
  concurrencyCap: integer(),
  createdAt: createdAt(),
});

/**
 * People (and integrations) that call the API. Usernames are global (sign-in names no unit) and
 * stored lower-case. Users are disabled, never deleted: jobs and edits keep naming who made them.
 */
export const users = snakeCase.table(
  'users',
  {
    id: uuid().primaryKey().defaultRandom(),
    ouId: ouReference(),
    username: text().notNull().unique(),
    displayName: text().notNull(),
    /** `scrypt$N$r$p$salt$hash` (see auth/passwords.ts); null = this user signs in with tokens only. */
    passwordHash: text(),
    /** Set when an administrator disabled the user: every credential of theirs stops working. */
    disabledAt: timestamp({ withTimezone: true }),
    lastSignInAt: timestamp({ withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index().on(t.ouId)],
);

/** A named set of permissions in one organisation unit. A user's permissions are the union of their roles'. */
export const roles = snakeCase.table(
  'roles',
  {
    id: uuid().primaryKey().defaultRandom(),
    ouId: ouReference(),
    name: text().notNull(),
    description: text().notNull().default(''),
    permissions: permissionEnum().array().notNull().default(sql`'{}'::permission[]`),
    createdAt: createdAt(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [unique().on(t.ouId, t.name)],
);

export const userRoles = snakeCase.table(
  'user_roles',
  {
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    roleId: uuid()
      .notNull()
      .references(() => roles.id, { onDelete: 'cascade' }),
    ouId: uuid().notNull(),
    assignedAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.roleId] }), index().on(t.roleId)],
);

/** API_TOKEN: for integrations, sent as `Authorization: Bearer`. SESSION: the dashboard's, in an HttpOnly cookie. */
export const CREDENTIAL_KINDS = ['API_TOKEN', 'SESSION'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];
export const credentialKindEnum = pgEnum('credential_kind', CREDENTIAL_KINDS);

/**
 * API tokens and dashboard sessions. The token itself is shown once and only its SHA-256 is kept
 * (it is a random 256-bit value, see domain/secrets.ts). A token acts with
 * `permissions ∩ its user's current role permissions`; null permissions = all of the user's.
 */
export const apiTokens = snakeCase.table(
  'api_tokens',
  {
    id: uuid().primaryKey().defaultRandom(),
    ouId: ouReference(),
    userId: uuid()
      .notNull()
      .references(() => users.id),
    kind: credentialKindEnum().notNull(),
    name: text().notNull(),
    tokenHash: text().notNull().unique(),
    permissions: permissionEnum().array(),
    /** A session opened by exchanging an API token ends when that token is revoked. */
    parentTokenId: uuid().references((): AnyPgColumn => apiTokens.id, { onDelete: 'cascade' }),
    expiresAt: timestamp({ withTimezone: true }),
    lastUsedAt: timestamp({ withTimezone: true }),
    createdAt: createdAt(),
    createdBy: uuid().references(() => users.id),
    revokedAt: timestamp({ withTimezone: true }),
    /**
     * The credential may run only trusted documents (registered by id), never a query of its own:
     * the right setting for mobile apps (docs/integrations.md).
     */
    trustedDocumentsOnly: boolean().notNull().default(false),
  },
  (t) => [index().on(t.userId, t.kind), index().on(t.parentTokenId)],
);

/**
 * Sign-in attempts per key (`user:<name>`, `address:<ip>`) in the current fixed window. In the
 * database, not in memory, so that every instance counts the same attempts.
 */
export const signInThrottles = snakeCase.table('sign_in_throttles', {
  key: text().primaryKey(),
  attempts: integer().notNull(),
  windowStartedAt: timestamp({ withTimezone: true }).notNull(),
});

// ── Products, devices, firmware ─────────────────────────────────────────────────────────────────

export const products = snakeCase.table(
  'products',
  {
    id: uuid().primaryKey().defaultRandom(),
    ouId: ouReference(),
    /** Globally unique: a device's MQTT client id `{productKey}.{deviceKey}` must name one product. */
    productKey: keyText().notNull().unique(),
    name: text().notNull(),
    description: text().notNull().default(''),
    createdAt: createdAt(),
  },
  (t) => [index().on(t.ouId, t.productKey)],
);

export const devices = snakeCase.table(
  'devices',
  {
    id: uuid().primaryKey().defaultRandom(),
    ouId: ouReference(),
    productId: productReference(),
    deviceKey: keyText().notNull(),
    name: text().notNull().default(''),
    /** SHA-256 of a random 256-bit secret (see docs/security.md for why not a slow KDF). */
    secretHash: text().notNull(),
    firmwareVersion: text(),
    online: boolean().notNull().default(false),
    lastSeenAt: timestamp({ withTimezone: true }),
    /**
     * The device's report order (docs/engine.md, "Report order"): the session part and counter of
     * the request id of the last report applied, so that reports take effect in the order the
     * device sent them whichever gateway connection or instance receives them.
     */
    reportSession: text(),
    reportSeq: bigint({ mode: 'number' }),
    tags: jsonb().$type<Record<string, string>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [unique().on(t.productId, t.deviceKey), index().on(t.ouId, t.deviceKey), index().on(t.productId, t.firmwareVersion), index().using('gin', t.tags)],
);

export const firmwares = snakeCase.table(
  'firmwares',
  {
    id: uuid().primaryKey().defaultRandom(),
    ouId: ouReference(),
    productId: productReference(),
    name: text().notNull(),
    version: text().notNull(),
    signMethod: signMethodEnum().notNull(),
    /** Lower-case hex digest of the file with `signMethod`. */
    sign: text().notNull(),
    size: bigint({ mode: 'number' }).notNull(),
    /** File name under the firmware directory. */
    storageKey: text().notNull(),
    fileName: text().notNull(),
    description: text().notNull().default(''),
    requireVerification: boolean().notNull().default(false),
    verified: boolean().notNull().default(false),
    verifiedAt: timestamp({ withTimezone: true }),
    /** Devices of a verification job that must succeed to verify; null = all of them. */
    minSuccessForVerified: integer(),
    createdAt: createdAt(),
    createdBy: uuid().references(() => users.id),
    /** Deleted firmware stays for the jobs that used it; its file is removed and its name freed. */
    deletedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    uniqueIndex('firmwares_product_name_live').on(t.productId, t.name).where(sql`deleted_at is null`),
    uniqueIndex('firmwares_product_version_live').on(t.productId, t.version).where(sql`deleted_at is null`),
    index().on(t.ouId, t.createdAt),
  ],
);

// ── OTA jobs and their tasks ────────────────────────────────────────────────────────────────────

export const otaJobs = snakeCase.table(
  'ota_jobs',
  {
    id: uuid().primaryKey().defaultRandom(),
    ouId: ouReference(),
    productId: productReference(),
    firmwareId: uuid()
      .notNull()
      .references(() => firmwares.id),
    type: jobTypeEnum().notNull(),
    name: text().notNull(),
    status: jobStatusEnum().notNull(),
    /** Why the job stopped when the engine stopped it (abort threshold); null when a user did. */
    statusReason: text(),
    createdAt: createdAt(),
    createdBy: uuid().references(() => users.id),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp({ withTimezone: true }),
    finishedAt: timestamp({ withTimezone: true }),

    // Scope: the filters combine with AND.
    targetMode: targetModeEnum().notNull(),
    targetDeviceKeys: text().array().notNull().default(sql`'{}'::text[]`),
    /** Empty = any source version. */
    srcVersions: text().array().notNull().default(sql`'{}'::text[]`),
    /** Empty = no tag filter. Same key: any of its values; different keys: all of them. */
    targetTags: jsonb().$type<TagFilter[]>().notNull().default([]),
    policy: jobPolicyEnum().notNull().default('SNAPSHOT'),

    // Rollout settings.
    maxConcurrency: integer().notNull().default(300),
    timeoutMinutes: integer().notNull().default(120),
    retryCount: integer().notNull().default(0),
    retryIntervalMinutes: integer().notNull().default(0),
    scheduleStartAt: timestamp({ withTimezone: true }),
    scheduleEndAt: timestamp({ withTimezone: true }),
    /** Daily window as minutes after midnight in `scheduleTimezone`; end < start spans midnight. */
    dailyWindowStartMinute: integer(),
    dailyWindowEndMinute: integer(),
    scheduleTimezone: text().notNull().default('UTC'),
    pushRatePerMinute: integer(),
    /** Stop the job when failed/finished exceeds this percentage … */
    abortThresholdPercent: integer(),
    /** … once at least this many tasks are final. */
    abortMinFinished: integer(),

    // Phased rollout (job_waves): null = no plan, the job is one wave as before.
    /** Index of the wave being pushed; devices of later waves wait (WAVE_NOT_STARTED). */
    activeWave: integer(),
    /** Seed of the random order within waves (recorded so the same plan gives the same waves); null = device-key order. */
    rolloutSeed: integer(),
    /** Device keys of the scope pinned to the first wave (the canary). */
    canaryDeviceKeys: text().array().notNull().default(sql`'{}'::text[]`),
  },
  (t) => [index().on(t.ouId, t.createdAt), index().on(t.ouId, t.status), index().on(t.productId), index().on(t.firmwareId)],
);

/** Bumped on every task change: the order in which changes happened, for subscription catch-up. */
export const taskChangeSeq = pgSequence('task_change_seq');

/** A task is one device in one job: a row of the job details' device tabs. */
export const jobTasks = snakeCase.table(
  'job_tasks',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    ouId: uuid().notNull(),
    jobId: uuid()
      .notNull()
      .references(() => otaJobs.id, { onDelete: 'cascade' }),
    /** Null when the targeted key did not exist (DEVICE_NOT_FOUND) or the device was deleted. */
    deviceId: uuid().references(() => devices.id, { onDelete: 'set null' }),
    deviceKey: keyText().notNull(),
    status: taskStatusEnum().notNull().default('TO_BE_PUSHED'),
    progress: smallint().notNull().default(0),
    failureReason: failureReasonEnum(),
    failureDetail: text(),
    waitingReason: waitingReasonEnum(),
    /** The device's version when the task was created (what it upgrades from). */
    srcVersion: text(),
    /** The device's version as last reported. */
    currentVersion: text(),
    attempt: integer().notNull().default(1),
    /** Message id of the upgrade push, to match the device's reply. */
    pushMessageId: text(),
    pushedAt: timestamp({ withTimezone: true }),
    startedAt: timestamp({ withTimezone: true }),
    finishedAt: timestamp({ withTimezone: true }),
    failedAt: timestamp({ withTimezone: true }),
    /** pushedAt + the job's timeout, kept as a column so the timeout sweep is one index range. */
    timeoutAt: timestamp({ withTimezone: true }),
    /** A retried task waits until then before it is pushed again. */
    nextAttemptAt: timestamp({ withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    /** Numbered by the task_change_order trigger on every write (in commit order per job); never set by code. */
    changeSeq: bigint({ mode: 'number' }).notNull().default(0),
    /** The task's wave (job_waves.index); null when the job has no rollout plan. */
    waveIndex: smallint(),
    /** Position in the rollout order (pushed in this order within the active waves). */
    waveOrder: integer(),
  },
  (t) => [
    unique().on(t.jobId, t.deviceKey),
    // The push order of a job with a rollout plan: waiting tasks of the active waves, in rollout order.
    index('job_tasks_wave_push').on(t.jobId, t.waveIndex, t.waveOrder).where(sql`status = 'TO_BE_PUSHED' and wave_index is not null`),
    // A wave's devices in one tab (the wave filter of the job's devices).
    index('job_tasks_wave_tab').on(t.jobId, t.waveIndex, t.status, t.deviceKey).where(sql`wave_index is not null`),
    // Every tab (status) page in device-key order, its count, and the device-key prefix search.
    index('job_tasks_tab').on(t.jobId, t.status, t.deviceKey),
    // Upgrade Failed tab searches: by reason, by current version, by failure time.
    index('job_tasks_failed_reason').on(t.jobId, t.failureReason, t.deviceKey).where(sql`status = 'FAILED'`),
    index('job_tasks_failed_version').on(t.jobId, t.currentVersion, t.deviceKey).where(sql`status = 'FAILED'`),
    index('job_tasks_failed_at').on(t.jobId, t.failedAt).where(sql`status = 'FAILED'`),
    // Changes since a cursor, for subscriptions that resume.
    index('job_tasks_changes').on(t.jobId, t.changeSeq),
    // A device's task in flight (reports, LAST_UPGRADE_IN_PROGRESS) and the timeout sweep.
    index('job_tasks_active_device').on(t.deviceId).where(sql`status in ('PUSHED', 'IN_PROGRESS')`),
    index('job_tasks_timeout').on(t.timeoutAt).where(sql`status in ('PUSHED', 'IN_PROGRESS')`),
  ],
);

/**
 * Tasks per job, status and failure reason, kept by a trigger on job_tasks (migration
 * "task_counts") in the same transaction as every task change, whoever makes it. The counts of a
 * job's tabs are then one tiny index range however large the job is. `reason` is '' when none.
 */
export const jobTaskCounts = snakeCase.table(
  'job_task_counts',
  {
    jobId: uuid()
      .notNull()
      .references(() => otaJobs.id, { onDelete: 'cascade' }),
    status: taskStatusEnum().notNull(),
    reason: text().notNull().default(''),
    n: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.status, t.reason] })],
);

/**
 * The waves of a job's rollout plan, in order. What selects a wave's devices (percent, count, tags)
 * is kept as given, for the record and the preview; the assignment itself is on each task.
 */
export const jobWaves = snakeCase.table(
  'job_waves',
  {
    jobId: uuid()
      .notNull()
      .references(() => otaJobs.id, { onDelete: 'cascade' }),
    index: smallint().notNull(),
    ouId: uuid().notNull(),
    name: text().notNull(),
    /** The rollout reaches this share of the targets by the end of this wave (cumulative). */
    selectPercent: integer(),
    /** This many more devices. */
    selectCount: integer(),
    /** The devices with these tags not in an earlier wave. */
    selectTags: jsonb().$type<TagFilter[]>(),
    /** Share of the wave's devices succeeded (percent) that starts the next wave. */
    successThresholdPercent: integer().notNull(),
    /** Share of the wave's finished devices failed (percent) that stops the job … */
    errorThresholdPercent: integer(),
    /** … once at least this many of its devices finished. */
    errorMinFinished: integer().notNull().default(1),
    /** Wait this long after the success threshold before the next wave. */
    soakMinutes: integer().notNull().default(0),
    /** After this wave the job waits for an approval (WAITING_FOR_APPROVAL). */
    approvalRequired: boolean().notNull().default(false),
    status: waveStatusEnum().notNull().default('PENDING'),
    startedAt: timestamp({ withTimezone: true }),
    thresholdReachedAt: timestamp({ withTimezone: true }),
    finishedAt: timestamp({ withTimezone: true }),
    approvedAt: timestamp({ withTimezone: true }),
    approvedBy: text(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.index] })],
);

/**
 * Tasks per job, wave, status and failure reason, kept by a trigger like job_task_counts (migration
 * "wave_counts_trigger"), for jobs with a rollout plan only: the wave thresholds and the per-wave
 * tabs of a 100,000-device job cost one small index range.
 */
export const jobWaveCounts = snakeCase.table(
  'job_wave_counts',
  {
    jobId: uuid()
      .notNull()
      .references(() => otaJobs.id, { onDelete: 'cascade' }),
    waveIndex: smallint().notNull(),
    status: taskStatusEnum().notNull(),
    reason: text().notNull().default(''),
    n: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.waveIndex, t.status, t.reason] })],
);

/**
 * Every rollout decision (a wave started, reached its threshold, passed, failed; the job stopped by
 * a wave; an approval): who or what made it and why.
 */
export const jobRolloutDecisions = snakeCase.table(
  'job_rollout_decisions',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    ouId: uuid().notNull(),
    jobId: uuid()
      .notNull()
      .references(() => otaJobs.id, { onDelete: 'cascade' }),
    waveIndex: smallint().notNull(),
    kind: text().notNull(),
    /** A user's display name, or "Rollout engine". */
    actor: text().notNull(),
    actorUserId: uuid().references(() => users.id),
    reason: text().notNull(),
    decidedAt: createdAt(),
  },
  (t) => [index().on(t.jobId, t.id)],
);

/**
 * Tasks removed from a job (a narrowed scope drops tasks still To be Pushed). Kept so that a
 * subscriber resuming from a change cursor also learns about rows that no longer exist.
 */
export const jobTaskRemovals = snakeCase.table(
  'job_task_removals',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    jobId: uuid()
      .notNull()
      .references(() => otaJobs.id, { onDelete: 'cascade' }),
    taskId: bigint({ mode: 'number' }).notNull(),
    deviceKey: keyText().notNull(),
    /** Numbered by the task_change_order trigger on every write (in commit order per job); never set by code. */
    changeSeq: bigint({ mode: 'number' }).notNull().default(0),
    removedAt: createdAt(),
  },
  (t) => [index().on(t.jobId, t.changeSeq)],
);

/** Every accepted edit of a job: who, when, which fields, from what to what. */
export const jobEdits = snakeCase.table(
  'job_edits',
  {
    id: uuid().primaryKey().defaultRandom(),
    ouId: uuid().notNull(),
    jobId: uuid()
      .notNull()
      .references(() => otaJobs.id, { onDelete: 'cascade' }),
    editedBy: uuid().references(() => users.id),
    editedByName: text().notNull(),
    editedAt: createdAt(),
    changes: jsonb().$type<FieldChange[]>().notNull(),
  },
  (t) => [index().on(t.jobId, t.editedAt)],
);

/**
 * Server-wide secret keys that every instance must share (e.g. the firmware download token key):
 * generated once by whichever instance needs one first, unless configured in the environment.
 */
export const signingKeys = snakeCase.table('signing_keys', {
  name: text().primaryKey(),
  secret: text().notNull(),
  createdAt: createdAt(),
});

// ── Integrations: trusted documents and webhooks (docs/integrations.md) ──────────────────────────

/** DASHBOARD: the built dashboard's documents (every unit may run them); INTEGRATION: registered by a unit. */
export const TRUSTED_DOCUMENT_SOURCES = ['DASHBOARD', 'INTEGRATION'] as const;
export type TrustedDocumentSource = (typeof TRUSTED_DOCUMENT_SOURCES)[number];
export const trustedDocumentSourceEnum = pgEnum('trusted_document_source', TRUSTED_DOCUMENT_SOURCES);

/**
 * GraphQL documents a client may run by id alone (persisted operations). The id is
 * `sha256:<hex of the document text>`, so a document cannot change under its id.
 */
export const trustedDocuments = snakeCase.table(
  'trusted_documents',
  {
    id: uuid().primaryKey().defaultRandom(),
    /** Null: the dashboard's, for every unit. */
    ouId: uuid().references(() => organisationUnits.id),
    documentId: text().notNull(),
    source: trustedDocumentSourceEnum().notNull(),
    /** The client the document belongs to ("ios-app 2.3", "dashboard"). */
    clientName: text().notNull(),
    operationName: text(),
    document: text().notNull(),
    createdAt: createdAt(),
    createdBy: uuid().references(() => users.id),
  },
  (t) => [unique('trusted_documents_scope_id').on(t.ouId, t.documentId).nullsNotDistinct(), index().on(t.documentId)],
);

export const WEBHOOK_DELIVERY_STATUSES = ['PENDING', 'SUCCEEDED', 'FAILED'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];
export const webhookDeliveryStatusEnum = pgEnum('webhook_delivery_status', WEBHOOK_DELIVERY_STATUSES);

/** EVENT: the event as it happened; REDELIVERY: redeliverWebhook; REPLAY: replayWebhookEvents; TEST: sendTestWebhook. */
export const WEBHOOK_DELIVERY_TRIGGERS = ['EVENT', 'REDELIVERY', 'REPLAY', 'TEST'] as const;
export type WebhookDeliveryTrigger = (typeof WEBHOOK_DELIVERY_TRIGGERS)[number];
export const webhookDeliveryTriggerEnum = pgEnum('webhook_delivery_trigger', WEBHOOK_DELIVERY_TRIGGERS);

/**
 * Where an organisation unit wants events sent. The signing secret is stored encrypted (it must
 * sign, so it cannot be hashed); during a rotation the previous secret signs too until it expires.
 */
export const webhookEndpoints = snakeCase.table(
  'webhook_endpoints',
  {
    id: uuid().primaryKey().defaultRandom(),
    ouId: ouReference(),
    name: text().notNull(),
    url: text().notNull(),
    /** Event types this endpoint receives (webhooks/events.ts). */
    eventTypes: text().array().notNull(),
    /** Only events of this product's jobs (null: any). */
    productId: uuid().references(() => products.id),
    /** Only events of this job (null: any). */
    jobId: uuid().references(() => otaJobs.id),
    enabled: boolean().notNull().default(true),
    /** Why the endpoint was disabled (null: by a user, or enabled). */
    disabledReason: text(),
    disabledAt: timestamp({ withTimezone: true }),
    secretCiphertext: text().notNull(),
    previousSecretCiphertext: text(),
    previousSecretExpiresAt: timestamp({ withTimezone: true }),
    /** Failed attempts since the last success. */
    consecutiveFailures: integer().notNull().default(0),
    /** First failure since the last success (null: healthy). */
    failingSince: timestamp({ withTimezone: true }),
    /** The receiver looked unavailable: nothing is sent before then. */
    pausedUntil: timestamp({ withTimezone: true }),
    lastSuccessAt: timestamp({ withTimezone: true }),
    lastFailureAt: timestamp({ withTimezone: true }),
    createdAt: createdAt(),
    createdBy: uuid().references(() => users.id),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index().on(t.ouId, t.createdAt)],
);

/**
 * The outbox: one row per event, written in the transaction of the change it describes (only when
 * an endpoint of the unit subscribes to it). `data` holds the facts; the payload is rendered from
 * them when sent (webhooks/events.ts), with the API's global IDs.
 */
export const webhookEvents = snakeCase.table(
  'webhook_events',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    ouId: uuid().notNull(),
    type: text().notNull(),
    jobId: uuid(),
    productId: uuid(),
    data: jsonb().$type<Record<string, unknown>>().notNull(),
    occurredAt: createdAt(),
  },
  (t) => [index().on(t.ouId, t.occurredAt)],
);

/**
 * One event to one endpoint. Deliveries of one endpoint and job (`lane`) are sent one at a time in
 * id order: the next waits until the previous succeeded or gave up.
 */
export const webhookDeliveries = snakeCase.table(
  'webhook_deliveries',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    ouId: uuid().notNull(),
    endpointId: uuid()
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    eventId: bigint({ mode: 'number' })
      .notNull()
      .references(() => webhookEvents.id, { onDelete: 'cascade' }),
    /** The job's id, or '' for events of no job: the order of delivery is kept per lane. */
    lane: text().notNull(),
    trigger: webhookDeliveryTriggerEnum().notNull().default('EVENT'),
    status: webhookDeliveryStatusEnum().notNull().default('PENDING'),
    attempts: integer().notNull().default(0),
    nextAttemptAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    /** An instance is sending it until then (a crashed instance's lease runs out). */
    leaseUntil: timestamp({ withTimezone: true }),
    lastAttemptAt: timestamp({ withTimezone: true }),
    lastResponseStatus: integer(),
    lastLatencyMs: integer(),
    lastError: text(),
    deliveredAt: timestamp({ withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    index('webhook_deliveries_lane').on(t.endpointId, t.lane, t.id).where(sql`status = 'PENDING'`),
    index('webhook_deliveries_log').on(t.endpointId, t.id),
    index().on(t.eventId),
    index('webhook_deliveries_finished').on(t.createdAt).where(sql`status <> 'PENDING'`),
  ],
);

/** Every attempt of a delivery: when, the answer's status, how long it took, what went wrong. */
export const webhookAttempts = snakeCase.table(
  'webhook_attempts',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    deliveryId: bigint({ mode: 'number' })
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    attemptedAt: timestamp({ withTimezone: true }).notNull(),
    responseStatus: integer(),
    latencyMs: integer().notNull(),
    error: text(),
    /** The start of the receiver's answer (at most a few KiB are read). */
    responseBody: text(),
  },
  (t) => [index().on(t.deliveryId, t.id)],
);

/** The last job.progress event queued per job, so that one is queued at most once per interval. */
export const webhookProgressMarks = snakeCase.table('webhook_progress_marks', {
  jobId: uuid()
    .primaryKey()
    .references(() => otaJobs.id, { onDelete: 'cascade' }),
  /** The counts the last event carried (a new event only when they changed). */
  fingerprint: text().notNull(),
  queuedAt: timestamp({ withTimezone: true }).notNull(),
});

// ── Audit log ───────────────────────────────────────────────────────────────────────────────────

/** What the audit log records (docs/security.md "Audit log"); the words are AUDIT_ACTION_LABELS. */
export const AUDIT_ACTIONS = [
  'JOB_CREATED',
  'JOB_EDITED',
  'JOB_STARTED',
  'JOB_STOPPED',
  'JOB_CANCELLED',
  'DEVICES_CANCELLED',
  'DEVICES_RETRIED',
  'FIRMWARE_UPLOADED',
  'FIRMWARE_VERIFIED',
  'FIRMWARE_DELETED',
  'PRODUCT_CREATED',
  'DEVICES_REGISTERED',
  'DEVICES_DELETED',
  'USER_CREATED',
  'USER_UPDATED',
  'USER_PASSWORD_SET',
  'USER_ROLES_SET',
  'PASSWORD_CHANGED',
  'ROLE_CREATED',
  'ROLE_UPDATED',
  'ROLE_DELETED',
  'TOKEN_CREATED',
  'TOKEN_REVOKED',
  'SIGNED_IN',
  'SIGN_IN_FAILED',
  'SIGNED_OUT',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export const auditActionEnum = pgEnum('audit_action', AUDIT_ACTIONS);

export const AUDIT_TARGET_TYPES = ['JOB', 'FIRMWARE', 'PRODUCT', 'DEVICE', 'USER', 'ROLE', 'API_TOKEN'] as const;
export type AuditTargetType = (typeof AUDIT_TARGET_TYPES)[number];
export const auditTargetTypeEnum = pgEnum('audit_target_type', AUDIT_TARGET_TYPES);

/**
 * One row per change an operator (or the system) made, written in the transaction of the change:
 * a change that rolled back has no row, a committed one always has. Never updated or deleted by the
 * application. `actorName` and `targetName` are copies, so the log still reads after a rename.
 */
export const auditEvents = snakeCase.table(
  'audit_events',
  {
    id: uuid().primaryKey().defaultRandom(),
    ouId: uuid().notNull(),
    at: timestamp({ withTimezone: true }).notNull().defaultNow(),
    action: auditActionEnum().notNull(),
    /** Null: the system (the engine, a first start). */
    actorId: uuid().references(() => users.id),
    actorName: text().notNull(),
    targetType: auditTargetTypeEnum(),
    targetId: uuid(),
    targetName: text(),
    /** One line in operator words ("3 devices cancelled", "Timeout: 120 → 60 minutes"). */
    summary: text().notNull(),
    details: jsonb().$type<Record<string, unknown>>(),
    /** From where: the client's address and the credential the request came with. */
    clientAddress: text(),
    credentialKind: credentialKindEnum(),
    credentialId: uuid(),
    credentialName: text(),
  },
  (t) => [
    index('audit_events_ou_at').on(t.ouId, t.at.desc(), t.id.desc()),
    index('audit_events_ou_action_at').on(t.ouId, t.action, t.at.desc()),
    index('audit_events_ou_actor_at').on(t.ouId, t.actorId, t.at.desc()),
    index('audit_events_ou_target').on(t.ouId, t.targetType, t.targetId, t.at.desc()),
  ],
);
