/**
 * The console's wording comes from the shared @updraft/labels package (the API serves the same
 * words); this module adds what only the console needs: the tabs with their URL slugs.
 */
import { FAILURE_REASON_LABELS, JOB_STATUS_LABELS, STATUS_LABELS, type FailureReason, type JobStatus, type UpgradeStatus } from '@updraft/labels';

export {
  FAILURE_REASON_LABELS,
  JOB_FIELD_LABELS,
  JOB_STATUS_LABELS,
  JOB_TYPE_LABELS,
  PERMISSION_LABELS,
  PERMISSION_MEANINGS,
  PERMISSIONS,
  STATUS_LABELS,
  WAITING_REASON_LABELS,
} from '@updraft/labels';
export type { FailureReason, JobStatus, JobType, Permission, UpgradeStatus, WaitingReason } from '@updraft/labels';

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
export const JOB_STATUSES = Object.keys(JOB_STATUS_LABELS) as JobStatus[];
