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

const WaveErrorThresholdInput = builder.inputType('WaveErrorThresholdInput', {
  fields: (t) => ({
    percent: t.int({ required: true, description: "Share of the wave's finished devices failed (1-100) above which the job stops." }),
    minFinished: t.int({ description: 'Applies once this many of its devices finished (default 1).' }),
  }),
});

const WaveInput = builder.inputType('WaveInput', {
  description: 'One wave: exactly one of percent, count or tags (the last wave takes every device the earlier ones did not).',
  fields: (t) => ({
    name: t.string({ description: 'Default "Canary" for the first of several waves, else "Wave N".' }),
    percent: t.int({ description: 'The rollout reaches this share of the targets by the end of this wave (cumulative, 1-100, rounded up).' }),
    count: t.int({ description: 'This many more devices.' }),
    tags: t.field({ type: [TagFilterInput], description: 'The devices with these tags that are not in an earlier wave.' }),
    successThresholdPercent: t.int({ description: 'Share of the wave succeeded that starts the next wave (default 95).' }),
    errorThreshold: t.field({ type: WaveErrorThresholdInput, description: 'Failure share that stops the job; none by default.' }),
    soakMinutes: t.int({ description: 'Wait after the success threshold before the next wave (default 0, at most 7 days).' }),
    approvalRequired: t.boolean({ description: 'After this wave the job waits (WAITING_FOR_APPROVAL) until someone approves the next wave.' }),
  }),
});

export const RolloutPreset = builder.enumType('RolloutPreset', {
  values: {
    CANARY_10_50_100: { value: 'CANARY_10_50_100', description: 'Canary 1 %, then 10 %, 50 %, everyone; 95 % success moves on, 10 % failures stop.' },
    CANARY_APPROVAL_10_50_100: { value: 'CANARY_APPROVAL_10_50_100', description: 'The same, and the job waits for an approval after the canary.' },
  } as const,
});

const RolloutPlanInput = builder.inputType('RolloutPlanInput', {
  description: 'A phased rollout: a preset or ordered waves. Without a plan a job is one wave.',
  fields: (t) => ({
    preset: t.field({ type: RolloutPreset }),
    waves: t.field({ type: [WaveInput], description: 'At most 50.' }),
    randomOrder: t.boolean({ description: 'Shuffle the targets (with a seed that is recorded and shown) instead of device-key order.' }),
    seed: t.int({ description: 'The seed of the random order (implies randomOrder): the same plan and seed give the same waves.' }),
    canaryDeviceKeys: t.stringList({ description: 'Devices of the scope pinned to the first wave.' }),
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
    rollout: t.field({ type: RolloutPlanInput, description: 'A phased rollout plan (waves); none = one wave.' }),
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
