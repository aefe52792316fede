/**
 * The rules for an OTA job's settings (DESIGN §3), as zod schemas shared by creation and editing.
 * Limits are named constants so the docs, the API and the checks cannot drift apart.
 */
import { z } from 'zod';
import { JOB_POLICIES } from '../../db/schema.js';
import { defaultInput } from '../validation.js';

export const LIMITS = {
  nameLength: 100,
  verificationDevicesMin: 1,
  verificationDevicesMax: 5,
  upgradeDeviceKeysMax: 100_000,
  srcVersionsMax: 100,
  tagsMax: 20,
  timeoutMinutesMin: 5,
  timeoutMinutesMax: 48 * 60,
  timeoutMinutesDefault: 120,
  maxConcurrencyMin: 1,
  maxConcurrencyMax: 100_000,
  maxConcurrencyDefault: 300,
  retryCountMax: 5,
  retryIntervalMinutesMax: 24 * 60,
  pushRatePerMinuteMax: 1_000_000,
  abortMinFinishedDefault: 10,
} as const;

export const jobName = z.string().trim().min(1, 'must not be empty').max(LIMITS.nameLength, `must be at most ${LIMITS.nameLength} characters`);

export const deviceKey = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 characters of letters, digits, _ . : -');

const uniqueList = <T extends z.ZodType<string>>(item: T, max: number) =>
  z
    .array(item)
    .max(max, `must list at most ${max}`)
    .refine((list) => new Set(list).size === list.length, 'must not repeat an entry');

export const verificationDeviceKeys = uniqueList(deviceKey, LIMITS.verificationDevicesMax).min(
  LIMITS.verificationDevicesMin,
  `must list ${LIMITS.verificationDevicesMin} to ${LIMITS.verificationDevicesMax} devices`,
);

export const upgradeDeviceKeys = uniqueList(deviceKey, LIMITS.upgradeDeviceKeysMax);

export const srcVersions = uniqueList(z.string().trim().min(1, 'must not be empty').max(64), LIMITS.srcVersionsMax);

export const timeoutMinutes = z
  .number()
  .int()
  .min(LIMITS.timeoutMinutesMin, `must be between ${LIMITS.timeoutMinutesMin} minutes and 48 hours`)
  .max(LIMITS.timeoutMinutesMax, `must be between ${LIMITS.timeoutMinutesMin} minutes and 48 hours`);

export const maxConcurrency = z
  .number()
  .int()
  .min(LIMITS.maxConcurrencyMin, `must be between ${LIMITS.maxConcurrencyMin} and ${LIMITS.maxConcurrencyMax}`)
  .max(LIMITS.maxConcurrencyMax, `must be between ${LIMITS.maxConcurrencyMin} and ${LIMITS.maxConcurrencyMax}`);

export const tagFilters = z
  .array(
    z.object({
      key: z.string().trim().min(1).max(64),
      value: z.string().max(256),
    }),
  )
  .max(LIMITS.tagsMax, `must list at most ${LIMITS.tagsMax} tags`);

export const retryPolicy = z.object({
  count: z.number().int().min(0, 'must be 0 to 5').max(LIMITS.retryCountMax, 'must be 0 to 5'),
  intervalMinutes: z.number().int().min(0, 'must not be negative').max(LIMITS.retryIntervalMinutesMax, 'must be at most 24 hours'),
});
export type RetryPolicy = z.infer<typeof retryPolicy>;

const clockTime = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'must be HH:MM (00:00-23:59)');

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const schedule = z
  .object({
    startAt: z.date().nullish(),
    endAt: z.date().nullish(),
    dailyWindowStart: clockTime.nullish(),
    dailyWindowEnd: clockTime.nullish(),
    timezone: defaultInput(z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin'), 'UTC'),
  })
  .superRefine((value, ctx) => {
    if (value.startAt && value.endAt && value.endAt <= value.startAt) {
      ctx.addIssue({ code: 'custom', path: ['endAt'], message: 'must be after startAt' });
    }
    if (!!value.dailyWindowStart !== !!value.dailyWindowEnd) {
      // Start = end is a window open all day (engine/schedule-window.ts, docs/engine.md).
      ctx.addIssue({ code: 'custom', path: ['dailyWindowEnd'], message: 'give both ends of the daily window, or neither' });
    }
  });
export type Schedule = z.output<typeof schedule>;

export const pushRatePerMinute = z
  .number()
  .int()
  .min(1, 'must be at least 1')
  .max(LIMITS.pushRatePerMinuteMax, `must be at most ${LIMITS.pushRatePerMinuteMax}`);

export const abortThreshold = z.object({
  percent: z.number().int().min(1, 'must be 1 to 100').max(100, 'must be 1 to 100'),
  minFinished: defaultInput(z.number().int().min(1, 'must be at least 1'), LIMITS.abortMinFinishedDefault),
});
export type AbortThreshold = z.output<typeof abortThreshold>;

export const policy = z.enum(JOB_POLICIES);

/** Scope of an upgrade job. Versions narrow either mode; tags narrow the all-devices mode only. */
export const upgradeScope = z
  .object({
    allDevices: defaultInput(z.boolean(), false),
    deviceKeys: defaultInput(upgradeDeviceKeys, []),
    srcVersions: defaultInput(srcVersions, []),
    tags: defaultInput(tagFilters, []),
  })
  .superRefine((value, ctx) => {
    if (value.allDevices === value.deviceKeys.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['deviceKeys'],
        message: 'choose the scope: either allDevices: true or a non-empty list of deviceKeys',
      });
    }
    if (value.deviceKeys.length > 0 && value.tags.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['tags'],
        message: 'tags narrow an all-devices scope; with explicit deviceKeys, list only the devices you want',
      });
    }
  });

/** Minutes after midnight of "HH:MM". */
export function clockToMinute(clock: string): number {
  const [h, m] = clock.split(':').map(Number);
  return h * 60 + m;
}

export function minuteToClock(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}
