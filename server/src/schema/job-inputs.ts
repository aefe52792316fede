/** The input types of the job mutations (schema/job-mutations.ts). */
import { builder } from '../builder.js';
import { JobPolicy, OtaJobType } from './enums.js';

const TagFilterInput = builder.inputType('TagFilterInput', {
  fields: (t) => ({ key: t.string({ required: true }), value: t.string({ required: true }) }),
});

const JobScopeInput = builder.inputType('JobScopeInput', {
  description: 'allDevices: true, or a list of deviceKeys; srcVersions narrow either; tags narrow allDevices.',
  fields: (t) => ({
    allDevices: t.boolean(),
    deviceKeys: t.stringList(),
    srcVersions: t.stringList(),
    tags: t.field({ type: [TagFilterInput] }),
  }),
});

const RetryPolicyInput = builder.inputType('RetryPolicyInput', {
  fields: (t) => ({
    count: t.int({ required: true, description: '0 to 5 automatic retries of a failed device.' }),
    intervalMinutes: t.int({ required: true, description: 'Wait before each retry.' }),
  }),
});

const ScheduleInput = builder.inputType('ScheduleInput', {
  fields: (t) => ({
    startAt: t.field({ type: 'DateTime', description: 'The job is SCHEDULED until then.' }),
    endAt: t.field({ type: 'DateTime', description: 'Nothing is pushed after this.' }),
    dailyWindowStart: t.string({ description: '"HH:MM": push only inside the daily window.' }),
    dailyWindowEnd: t.string({ description: '"HH:MM"; earlier than the start spans midnight.' }),
    timezone: t.string({ description: 'IANA time zone of the window; default UTC.' }),
  }),
});

const AbortThresholdInput = builder.inputType('AbortThresholdInput', {
  fields: (t) => ({
    percent: t.int({ required: true, description: 'Failure percentage (1-100) that stops the job.' }),
    minFinished: t.int({ description: 'Applies once this many devices finished (default 10).' }),
  }),
});

export const CreateVerificationJobInput = builder.inputType('CreateVerificationJobInput', {
  fields: (t) => ({
    firmwareId: t.id({ required: true }),
    name: t.string({ required: true }),
    deviceKeys: t.stringList({ required: true, description: '1 to 5 devices to verify the firmware on.' }),
    srcVersions: t.stringList({ description: 'Versions to be upgraded; empty = any.' }),
    timeoutMinutes: t.int({ description: 'Default 120; 5 minutes to 48 hours.' }),
  }),
});

export const CreateUpgradeJobInput = builder.inputType('CreateUpgradeJobInput', {
  fields: (t) => ({
    firmwareId: t.id({ required: true }),
    name: t.string({ required: true }),
    scope: t.field({ type: JobScopeInput, required: true }),
    policy: t.field({ type: JobPolicy, description: 'Default SNAPSHOT.' }),
    maxConcurrency: t.int({ description: 'Default 300.' }),
    timeoutMinutes: t.int({ description: 'Default 120; 5 minutes to 48 hours.' }),
    retry: t.field({ type: RetryPolicyInput }),
    schedule: t.field({ type: ScheduleInput }),
    pushRatePerMinute: t.int(),
    abortThreshold: t.field({ type: AbortThresholdInput }),
  }),
});

export const EditJobInput = builder.inputType('EditJobInput', {
  description:
    'Omitted fields stay as they are; null clears schedule, pushRatePerMinute and abortThreshold. Refused fields are named in JobNotEditableError and nothing changes.',
  fields: (t) => ({
    jobId: t.id({ required: true }),
    name: t.string({ description: 'Never editable: listed so that a change is refused by name.' }),
    firmwareId: t.id({ description: 'Never editable.' }),
    type: t.field({ type: OtaJobType, description: 'Never editable.' }),
    productKey: t.string({ description: 'Never editable.' }),
    allDevices: t.boolean(),
    deviceKeys: t.stringList(),
    srcVersions: t.stringList(),
    tags: t.field({ type: [TagFilterInput] }),
    timeoutMinutes: t.int(),
    policy: t.field({ type: JobPolicy }),
    maxConcurrency: t.int(),
    retry: t.field({ type: RetryPolicyInput }),
    schedule: t.field({ type: ScheduleInput }),
    pushRatePerMinute: t.int(),
    abortThreshold: t.field({ type: AbortThresholdInput }),
  }),
});
