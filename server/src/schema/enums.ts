/** The enums of the public contract. Their values are the database enum values. */
import { builder } from '../builder.js';
import { FAILURE_REASONS, JOB_POLICIES, JOB_STATUSES, JOB_TYPES, PERMISSIONS, SIGN_METHODS, TASK_STATUSES, WAITING_REASONS } from '../db/schema.js';
import { EDIT_FIELDS } from '../domain/jobs/edit-rules.js';
import { FAILURE_REASON_LABELS, STATUS_LABELS, WAITING_REASON_LABELS } from '../domain/tasks/rules.js';

const withDescriptions = <T extends string>(values: readonly T[], labels?: Record<T, string>) =>
  Object.fromEntries(values.map((v) => [v, { value: v, description: labels?.[v] }])) as Record<T, { value: T; description?: string }>;

export const OtaJobType = builder.enumType('OtaJobType', { values: withDescriptions(JOB_TYPES) });
export const OtaJobStatus = builder.enumType('OtaJobStatus', {
  values: withDescriptions(JOB_STATUSES, {
    SCHEDULED: 'Waiting for its schedule to start.',
    RUNNING: 'Pushing to devices.',
    STOPPED: 'Paused: nothing new is pushed; devices already pushed carry on.',
    FINISHED: 'Every task is final.',
    CANCELLED: 'Cancelled by a user.',
    WAITING_FOR_APPROVAL:
      'A wave of its rollout passed and an approval gate holds the next one: nothing new is pushed until someone with OTA_CONTROL approves it (approveNextWave) or cancels the job.',
  }),
});
export const UpgradeStatus = builder.enumType('UpgradeStatus', {
  description: "A device's status in a job; each is a tab of the job details page.",
  values: withDescriptions(TASK_STATUSES, STATUS_LABELS),
});
export const FailureReason = builder.enumType('FailureReason', {
  values: withDescriptions(FAILURE_REASONS, FAILURE_REASON_LABELS),
});
export const WaitingReason = builder.enumType('WaitingReason', {
  description: 'Why a To be Pushed device has not been pushed yet.',
  values: withDescriptions(WAITING_REASONS, WAITING_REASON_LABELS),
});
export const SignMethod = builder.enumType('SignMethod', { values: withDescriptions(SIGN_METHODS) });
export const JobPolicy = builder.enumType('JobPolicy', {
  values: withDescriptions(JOB_POLICIES, {
    SNAPSHOT: 'Targets are fixed when the job is created.',
    INCREMENTAL: 'Devices that come to match the scope later are added while the job runs.',
  }),
});
export const Permission = builder.enumType('Permission', { values: withDescriptions(PERMISSIONS) });
export const DeviceKeyMatch = builder.enumType('DeviceKeyMatch', {
  values: withDescriptions(['EXACT', 'PREFIX', 'CONTAINS'] as const, {
    EXACT: 'The device key equals the search text.',
    PREFIX: 'The device key starts with the search text.',
    CONTAINS: 'The device key contains the search text.',
  }),
});
export const JobField = builder.enumType('JobField', {
  description: 'A field of EditJobInput.',
  values: withDescriptions(EDIT_FIELDS),
});
export const NotCancelledReason = builder.enumType('NotCancelledReason', {
  values: withDescriptions(['NOT_IN_JOB', 'IN_PROGRESS', 'ALREADY_FINISHED'] as const),
});
export const NotRetriedReason = builder.enumType('NotRetriedReason', {
  values: withDescriptions(['NOT_IN_JOB', 'NOT_FAILED'] as const),
});
