/**
 * The console's wording, from the EnOS "Viewing OTA Job Details" page this product follows
 * (tab names, failure reasons) and DESIGN §3 (why a device waits).
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
export type JobStatus = 'SCHEDULED' | 'RUNNING' | 'STOPPED' | 'FINISHED' | 'CANCELLED';
export type JobType = 'VERIFICATION' | 'UPGRADE';

/** The five tabs of the job details page, in order, with the slug used in URLs. */
export const TABS: readonly { status: UpgradeStatus; slug: string; label: string; countKey: CountKey }[] = [
  { status: 'TO_BE_PUSHED', slug: 'to-be-pushed', label: 'To be Pushed', countKey: 'toBePushed' },
  { status: 'PUSHED', slug: 'pushed', label: 'Pushed', countKey: 'pushed' },
  { status: 'IN_PROGRESS', slug: 'in-progress', label: 'In Progress', countKey: 'inProgress' },
  { status: 'SUCCEEDED', slug: 'succeeded', label: 'Upgrade Successful', countKey: 'succeeded' },
  { status: 'FAILED', slug: 'failed', label: 'Upgrade Failed', countKey: 'failed' },
];
export type CountKey = 'toBePushed' | 'pushed' | 'inProgress' | 'succeeded' | 'failed';

export const STATUS_LABELS: Record<UpgradeStatus, string> = Object.fromEntries(TABS.map((t) => [t.status, t.label])) as Record<
  UpgradeStatus,
  string
>;

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
export const FAILURE_REASONS = Object.keys(FAILURE_REASON_LABELS) as FailureReason[];

export const WAITING_REASON_LABELS: Record<string, string> = {
  OFFLINE: 'Device is offline',
  CONCURRENCY_LIMIT: 'Concurrency limit reached',
  OUTSIDE_WINDOW: 'Outside the upgrade window',
  RATE_LIMIT: 'Push rate limit reached',
  JOB_STOPPED: 'Job is stopped',
  SCHEDULED: 'Job has not started yet',
  RETRY_INTERVAL: 'Waiting for the retry interval',
};

export const JOB_STATUS_LABELS: Record<JobStatus, string> = {
  SCHEDULED: 'Scheduled',
  RUNNING: 'Running',
  STOPPED: 'Stopped',
  FINISHED: 'Finished',
  CANCELLED: 'Cancelled',
};
export const JOB_STATUSES = Object.keys(JOB_STATUS_LABELS) as JobStatus[];

export const JOB_TYPE_LABELS: Record<JobType, string> = { VERIFICATION: 'Verification', UPGRADE: 'Upgrade' };

export const PERMISSION_LABELS: Record<string, string> = {
  FIRMWARE_READ: 'read firmware',
  FIRMWARE_WRITE: 'upload firmware',
  FIRMWARE_DELETE: 'delete firmware',
  OTA_READ: 'read OTA jobs',
  OTA_CREATE: 'create OTA jobs',
  OTA_CONTROL: 'control OTA jobs (edit, start, stop, cancel, retry)',
  DEVICE_READ: 'read devices',
  DEVICE_WRITE: 'manage devices',
  OU_ADMIN: 'administer the organisation unit',
};

/** Jobs whose numbers can still move: the list subscribes to these. */
export function isActiveJob(status: JobStatus): boolean {
  return status === 'RUNNING' || status === 'SCHEDULED' || status === 'STOPPED';
}
