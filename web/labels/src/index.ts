/**
 * The console's wording, in one place: the EnOS "Viewing OTA Job Details" page this product follows
 * (tab names, failure reasons) and DESIGN §3 (why a device waits), plus the words of the
 * administration screens and the audit log. The dashboard shows these; the API serves the same
 * words (failureReasonText, enum descriptions), so the console, the API and the docs never say two
 * different things. Plain data, no imports: the server checks at compile time that every enum
 * value of its database model has its words here.
 */

export type UpgradeStatus = 'TO_BE_PUSHED' | 'PUSHED' | 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED';
export type FailureReason =
  | 'CANCELLED_BY_USER'
  | 'DEVICE_IGNORED'
  | 'VERSION_NOT_IN_SCOPE'
  | 'WRITE_FAILED'
  | 'DOWNLOAD_FAILED'
  | 'VERIFICATION_FAILED'
  | 'LAST_UPGRADE_IN_PROGRESS'
  | 'DEVICE_NOT_FOUND'
  | 'UNDEFINED'
  | 'TIMEOUT';
export type WaitingReason =
  | 'OFFLINE'
  | 'CONCURRENCY_LIMIT'
  | 'OUTSIDE_WINDOW'
  | 'RATE_LIMIT'
  | 'JOB_STOPPED'
  | 'SCHEDULED'
  | 'RETRY_INTERVAL'
  | 'WAVE_NOT_STARTED'
  | 'WAITING_FOR_APPROVAL';
export type JobStatus = 'SCHEDULED' | 'RUNNING' | 'STOPPED' | 'FINISHED' | 'CANCELLED' | 'WAITING_FOR_APPROVAL';
export type JobType = 'VERIFICATION' | 'UPGRADE';
export type Permission =
  | 'FIRMWARE_READ'
  | 'FIRMWARE_WRITE'
  | 'FIRMWARE_DELETE'
  | 'OTA_READ'
  | 'OTA_CREATE'
  | 'OTA_CONTROL'
  | 'DEVICE_READ'
  | 'DEVICE_WRITE'
  | 'OU_ADMIN'
  | 'WEBHOOK_ADMIN';

/** Tab names of the job details page. */
export const STATUS_LABELS: Record<UpgradeStatus, string> = {
  TO_BE_PUSHED: 'To be Pushed',
  PUSHED: 'Pushed',
  IN_PROGRESS: 'In Progress',
  SUCCEEDED: 'Upgrade Successful',
  FAILED: 'Upgrade Failed',
};

export const FAILURE_REASON_LABELS: Record<FailureReason, string> = {
  CANCELLED_BY_USER: 'Cancelled by user',
  DEVICE_IGNORED: 'Device ignored this upgrade',
  VERSION_NOT_IN_SCOPE: 'Device version not included in the target scope',
  WRITE_FAILED: 'Failed to write firmware to device',
  DOWNLOAD_FAILED: 'Firmware download failed',
  VERIFICATION_FAILED: 'Firmware verification failed',
  LAST_UPGRADE_IN_PROGRESS: 'Last upgrade in progress',
  DEVICE_NOT_FOUND: 'Target device not found',
  UNDEFINED: 'Undefined failure',
  TIMEOUT: 'Upgrade timeout',
};

export const WAITING_REASON_LABELS: Record<WaitingReason, string> = {
  OFFLINE: 'Device is offline',
  CONCURRENCY_LIMIT: 'Concurrency limit reached',
  OUTSIDE_WINDOW: 'Outside the upgrade window',
  RATE_LIMIT: 'Push rate limit reached',
  JOB_STOPPED: 'Job is stopped',
  SCHEDULED: 'Job has not started yet',
  RETRY_INTERVAL: 'Waiting for the retry interval',
  WAVE_NOT_STARTED: 'Its wave has not started yet',
  WAITING_FOR_APPROVAL: 'Waiting for approval of the next wave',
};

export const JOB_STATUS_LABELS: Record<JobStatus, string> = {
  SCHEDULED: 'Scheduled',
  RUNNING: 'Running',
  STOPPED: 'Stopped',
  FINISHED: 'Finished',
  CANCELLED: 'Cancelled',
  WAITING_FOR_APPROVAL: 'Waiting for approval',
};

export const JOB_TYPE_LABELS: Record<JobType, string> = { VERIFICATION: 'Verification', UPGRADE: 'Upgrade' };

/** What a permission lets its holder do, as "to …" words ("You lack … (to read OTA jobs)"). */
export const PERMISSION_LABELS: Record<Permission, string> = {
  FIRMWARE_READ: 'read firmware',
  FIRMWARE_WRITE: 'upload firmware',
  FIRMWARE_DELETE: 'delete firmware',
  OTA_READ: 'read OTA jobs',
  OTA_CREATE: 'create OTA jobs',
  OTA_CONTROL: 'control OTA jobs (edit, start, stop, cancel, retry)',
  DEVICE_READ: 'read devices',
  DEVICE_WRITE: 'manage devices',
  OU_ADMIN: 'administer the organisation unit',
  WEBHOOK_ADMIN: 'manage webhooks',
};

/** The meaning of each permission in full, beside its checkbox on the role form (docs/security.md). */
export const PERMISSION_MEANINGS: Record<Permission, string> = {
  FIRMWARE_READ: 'See the firmware list and each firmware’s details.',
  FIRMWARE_WRITE: 'Upload firmware files.',
  FIRMWARE_DELETE: 'Delete firmware that no job needs any more.',
  OTA_READ: 'See OTA jobs, their devices and their live progress (and the firmware and devices a job shows).',
  OTA_CREATE: 'Create verification and upgrade jobs (Verify, Batch Upgrade).',
  OTA_CONTROL: 'Edit, start, stop and cancel jobs; cancel and retry the upgrade of devices.',
  DEVICE_READ: 'See the fleet: devices, their versions, online state and upgrade history.',
  DEVICE_WRITE: 'Create products, register and delete devices.',
  OU_ADMIN: 'Manage the unit’s users, roles and everyone’s API tokens, and read the audit log. In effect every permission: give it to few people.',
  WEBHOOK_ADMIN: 'Manage the unit’s webhook endpoints (where events are sent, their signing secrets) and read, redeliver and replay their deliveries.',
};

export const PERMISSIONS = Object.keys(PERMISSION_LABELS) as Permission[];

/** The settings of a job as the edit form and the edit history name them (EditJobInput fields). */
export const JOB_FIELD_LABELS: Record<string, string> = {
  name: 'Job name',
  firmwareId: 'Firmware',
  type: 'Job type',
  productKey: 'Product',
  allDevices: 'Scope',
  deviceKeys: 'Device keys',
  srcVersions: 'Version number to be upgraded',
  tags: 'Tags',
  timeoutMinutes: 'Timeout',
  policy: 'Policy',
  maxConcurrency: 'Max concurrency',
  retry: 'Retry',
  schedule: 'Schedule',
  pushRatePerMinute: 'Push rate',
  abortThreshold: 'Abort threshold',
};

/** Actions the audit log records (AuditEvent.action), in the words of its page. */
export const AUDIT_ACTION_LABELS: Record<string, string> = {
  JOB_CREATED: 'Job created',
  JOB_EDITED: 'Job edited',
  JOB_STARTED: 'Job started',
  JOB_STOPPED: 'Job stopped',
  JOB_CANCELLED: 'Job cancelled',
  DEVICES_CANCELLED: 'Device upgrades cancelled',
  DEVICES_RETRIED: 'Device upgrades retried',
  FIRMWARE_UPLOADED: 'Firmware uploaded',
  FIRMWARE_VERIFIED: 'Firmware verified',
  FIRMWARE_DELETED: 'Firmware deleted',
  PRODUCT_CREATED: 'Product created',
  DEVICES_REGISTERED: 'Devices registered',
  DEVICES_DELETED: 'Devices deleted',
  USER_CREATED: 'User created',
  USER_UPDATED: 'User changed',
  USER_PASSWORD_SET: 'Password set',
  USER_ROLES_SET: 'User roles set',
  PASSWORD_CHANGED: 'Own password changed',
  ROLE_CREATED: 'Role created',
  ROLE_UPDATED: 'Role changed',
  ROLE_DELETED: 'Role deleted',
  TOKEN_CREATED: 'API token created',
  TOKEN_REVOKED: 'API token revoked',
  SIGNED_IN: 'Signed in',
  SIGN_IN_FAILED: 'Sign-in failed',
  SIGNED_OUT: 'Signed out',
};
