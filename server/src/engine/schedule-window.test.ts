import { describe, expect, it } from 'vitest';
import { inDailyWindow, minuteOfDay, pushWindowOpen, type WindowJob } from './schedule-window.js';

const job = (over: Partial<WindowJob> = {}): WindowJob => ({
  scheduleEndAt: null,
  dailyWindowStartMinute: null,
  dailyWindowEndMinute: null,
  scheduleTimezone: 'UTC',
  ...over,
});

describe('push window', () => {
  it('is open without a schedule, closed from the schedule end on', () => {
    const now = new Date('2026-03-01T12:00:00Z');
    expect(pushWindowOpen(job(), now)).toBe(true);
    expect(pushWindowOpen(job({ scheduleEndAt: new Date('2026-03-01T12:00:01Z') }), now)).toBe(true);
    expect(pushWindowOpen(job({ scheduleEndAt: now }), now)).toBe(false);
  });

  it('reads the daily window in the job time zone', () => {
    // 12:00 UTC is 07:00 in New York (EST) and 21:00 in Tokyo.
    const now = new Date('2026-01-15T12:00:00Z');
    expect(minuteOfDay(now, 'America/New_York')).toBe(7 * 60);
    expect(minuteOfDay(now, 'Asia/Tokyo')).toBe(21 * 60);
    const window = { dailyWindowStartMinute: 6 * 60, dailyWindowEndMinute: 8 * 60 };
    expect(pushWindowOpen(job({ ...window, scheduleTimezone: 'America/New_York' }), now)).toBe(true);
    expect(pushWindowOpen(job({ ...window, scheduleTimezone: 'Asia/Tokyo' }), now)).toBe(false);
  });

  it('spans midnight when the end is before the start, and is all day when they are equal', () => {
    expect(inDailyWindow(23 * 60, 22 * 60, 4 * 60)).toBe(true);
    expect(inDailyWindow(3 * 60 + 59, 22 * 60, 4 * 60)).toBe(true);
    expect(inDailyWindow(4 * 60, 22 * 60, 4 * 60)).toBe(false);
    expect(inDailyWindow(12 * 60, 22 * 60, 4 * 60)).toBe(false);
    expect(inDailyWindow(9 * 60, 9 * 60, 17 * 60)).toBe(true);
    expect(inDailyWindow(17 * 60, 9 * 60, 17 * 60)).toBe(false);
    expect(inDailyWindow(5, 300, 300)).toBe(true);
  });
});
