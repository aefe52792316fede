/**
 * A job's settings as the API speaks of them (nested retry, schedule and abort threshold; clock
 * times as "HH:MM"), converted to and from the flat columns of `ota_jobs`.
 */
import type { JobPolicy, TagFilter } from '../../db/schema.js';
import type { otaJobs } from '../../db/schema.js';
import { clockToMinute, minuteToClock, type AbortThreshold, type RetryPolicy, type Schedule } from './settings.js';

export type JobRow = typeof otaJobs.$inferSelect;
export type EditableJob = Pick<
  JobRow,
  | 'type'
  | 'status'
  | 'name'
  | 'firmwareId'
  | 'targetMode'
  | 'targetDeviceKeys'
  | 'srcVersions'
  | 'targetTags'
  | 'policy'
  | 'maxConcurrency'
  | 'timeoutMinutes'
  | 'retryCount'
  | 'retryIntervalMinutes'
  | 'scheduleStartAt'
  | 'scheduleEndAt'
  | 'dailyWindowStartMinute'
  | 'dailyWindowEndMinute'
  | 'scheduleTimezone'
  | 'pushRatePerMinute'
  | 'abortThresholdPercent'
  | 'abortMinFinished'
>;

export interface ScheduleView {
  startAt: Date | null;
  endAt: Date | null;
  dailyWindowStart: string | null;
  dailyWindowEnd: string | null;
  timezone: string;
}

export interface JobSettingsView {
  allDevices: boolean;
  deviceKeys: string[];
  srcVersions: string[];
  tags: TagFilter[];
  timeoutMinutes: number;
  policy: JobPolicy;
  maxConcurrency: number;
  retry: RetryPolicy;
  schedule: ScheduleView | null;
  pushRatePerMinute: number | null;
  abortThreshold: AbortThreshold | null;
}

export function scheduleView(job: EditableJob): ScheduleView | null {
  const hasWindow = job.dailyWindowStartMinute !== null && job.dailyWindowEndMinute !== null;
  if (!job.scheduleStartAt && !job.scheduleEndAt && !hasWindow) return null;
  return {
    startAt: job.scheduleStartAt,
    endAt: job.scheduleEndAt,
    dailyWindowStart: hasWindow ? minuteToClock(job.dailyWindowStartMinute!) : null,
    dailyWindowEnd: hasWindow ? minuteToClock(job.dailyWindowEndMinute!) : null,
    timezone: job.scheduleTimezone,
  };
}

/** A parsed schedule input in the view's shape (every part present, null when not given). */
export function scheduleFromInput(input: Schedule): ScheduleView {
  return {
    startAt: input.startAt ?? null,
    endAt: input.endAt ?? null,
    dailyWindowStart: input.dailyWindowStart ?? null,
    dailyWindowEnd: input.dailyWindowEnd ?? null,
    timezone: input.timezone,
  };
}

export function settingsView(job: EditableJob): JobSettingsView {
  return {
    allDevices: job.targetMode === 'ALL',
    deviceKeys: job.targetDeviceKeys,
    srcVersions: job.srcVersions,
    tags: job.targetTags,
    timeoutMinutes: job.timeoutMinutes,
    policy: job.policy,
    maxConcurrency: job.maxConcurrency,
    retry: { count: job.retryCount, intervalMinutes: job.retryIntervalMinutes },
    schedule: scheduleView(job),
    pushRatePerMinute: job.pushRatePerMinute,
    abortThreshold: job.abortThresholdPercent === null ? null : { percent: job.abortThresholdPercent, minFinished: job.abortMinFinished ?? 1 },
  };
}

type SettingsColumns = Omit<EditableJob, 'type' | 'status' | 'name' | 'firmwareId'>;

export function settingsColumns(view: JobSettingsView): SettingsColumns {
  return {
    targetMode: view.allDevices ? 'ALL' : 'DEVICE_KEYS',
    targetDeviceKeys: view.allDevices ? [] : view.deviceKeys,
    srcVersions: view.srcVersions,
    targetTags: view.tags,
    policy: view.policy,
    maxConcurrency: view.maxConcurrency,
    timeoutMinutes: view.timeoutMinutes,
    retryCount: view.retry.count,
    retryIntervalMinutes: view.retry.intervalMinutes,
    scheduleStartAt: view.schedule?.startAt ?? null,
    scheduleEndAt: view.schedule?.endAt ?? null,
    dailyWindowStartMinute: view.schedule?.dailyWindowStart ? clockToMinute(view.schedule.dailyWindowStart) : null,
    dailyWindowEndMinute: view.schedule?.dailyWindowEnd ? clockToMinute(view.schedule.dailyWindowEnd) : null,
    scheduleTimezone: view.schedule?.timezone ?? 'UTC',
    pushRatePerMinute: view.pushRatePerMinute,
    abortThresholdPercent: view.abortThreshold?.percent ?? null,
    abortMinFinished: view.abortThreshold?.minFinished ?? null,
  };
}
