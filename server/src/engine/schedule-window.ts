/**
 * When a running job may push (DESIGN §3 "optional schedule"): before its schedule end, and inside
 * its daily window in the job's time zone. The start time only decides when a SCHEDULED job starts
 * (an operator may start it earlier by hand). A window whose end is before its start spans
 * midnight (22:00–04:00); one whose start equals its end is open all day.
 */
import type { JobRow } from '../domain/jobs/settings-view.js';

export type WindowJob = Pick<JobRow, 'scheduleEndAt' | 'dailyWindowStartMinute' | 'dailyWindowEndMinute' | 'scheduleTimezone'>;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    try {
      formatter = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    } catch {
      // Time zones are validated when a job is saved; a zone the runtime does not know is read as UTC.
      formatter = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    }
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Minutes after local midnight in `timeZone`. */
export function minuteOfDay(now: Date, timeZone: string): number {
  const parts = formatterFor(timeZone).formatToParts(now);
  const hour = Number(parts.find((p) => p.type === 'hour')?.value ?? 0);
  const minute = Number(parts.find((p) => p.type === 'minute')?.value ?? 0);
  return (hour % 24) * 60 + minute;
}

export function inDailyWindow(minute: number, start: number, end: number): boolean {
  if (start === end) return true;
  return start < end ? minute >= start && minute < end : minute >= start || minute < end;
}

/** Whether the job may push now. */
export function pushWindowOpen(job: WindowJob, now: Date): boolean {
  if (job.scheduleEndAt && job.scheduleEndAt <= now) return false;
  if (job.dailyWindowStartMinute === null || job.dailyWindowEndMinute === null) return true;
  return inDailyWindow(minuteOfDay(now, job.scheduleTimezone), job.dailyWindowStartMinute, job.dailyWindowEndMinute);
}
