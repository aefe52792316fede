/**
 * The console's wording, from the EnOS "Viewing OTA Job Details" page this product follows
 * (tab names, failure reasons) and DESIGN §3 (why a device waits). The words of tasks come from the
 * server's task rules (a pure module with type-only imports), so the console, the API's
 * failureReasonText and the docs can never say two different things.
 */
import { FAILURE_REASON_LABELS, STATUS_LABELS } from '../../server/src/domain/tasks/rules';

export { FAILURE_REASON_LABELS, STATUS_LABELS, WAITING_REASON_LABELS } from '../../server/src/domain/tasks/rules';

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
  { status: 'TO_BE_PUSHED', slug: 'to-be-pushed', label: STATUS_LABELS.TO_BE_PUSHED, countKey: 'toBePushed' },
  { status: 'PUSHED', slug: 'pushed', label: STATUS_LABELS.PUSHED, countKey: 'pushed' },
  { status: 'IN_PROGRESS', slug: 'in-progress', label: STATUS_LABELS.IN_PROGRESS, countKey: 'inProgress' },
  { status: 'SUCCEEDED', slug: 'succeeded', label: STATUS_LABELS.SUCCEEDED, countKey: 'succeeded' },
  { status: 'FAILED', slug: 'failed', label: STATUS_LABELS.FAILED, countKey: 'failed' },
];
export type CountKey = 'toBePushed' | 'pushed' | 'inProgress' | 'succeeded' | 'failed';

export const FAILURE_REASONS = Object.keys(FAILURE_REASON_LABELS) as FailureReason[];

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
