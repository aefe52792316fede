/**
 * The rules by which the job details table follows jobDeviceUpdates (web/src/live/device-rows.ts):
 * pure functions, so they are checked here without a browser.
 */
import { describe, expect, it } from 'vitest';
import { matchesView, mergeKeys, planBatch, withinPage, type DeviceRow, type PageBounds } from '../../web/src/live/device-rows.js';

const row = (deviceKey: string, patch: Partial<DeviceRow> = {}): DeviceRow => ({
  deviceKey,
  status: 'PUSHED',
  progress: 0,
  failureReason: null,
  failureReasonText: null,
  failureDetail: null,
  waitingReason: null,
  currentVersion: '1.0.0',
  pushedAt: '2026-01-01T10:00:00.000Z',
  failedAt: null,
  updatedAt: '2026-01-01T10:00:00.000Z',
  ...patch,
});

const page = (...rows: DeviceRow[]) => new Map(rows.map((r) => [r.deviceKey, r]));
const middle: PageBounds = { firstKey: 'd-10', lastKey: 'd-20', hasPrevious: true, hasNext: true };

describe('withinPage', () => {
  it('takes keys strictly inside a middle page and nothing beyond its ends', () => {
    expect(withinPage('d-15', middle)).toBe(true);
    expect(withinPage('d-09', middle)).toBe(false);
    expect(withinPage('d-21', middle)).toBe(false);
  });
  it('opens the first page upwards and the last page downwards', () => {
    expect(withinPage('d-01', { ...middle, hasPrevious: false })).toBe(true);
    expect(withinPage('d-99', { ...middle, hasNext: false })).toBe(true);
    expect(withinPage('d-99', middle)).toBe(false);
  });
  it('puts anything on an empty single page, nothing on an empty page among others', () => {
    expect(withinPage('x', { firstKey: null, lastKey: null, hasPrevious: false, hasNext: false })).toBe(true);
    expect(withinPage('x', { firstKey: null, lastKey: null, hasPrevious: true, hasNext: false })).toBe(false);
  });
});

describe('planBatch', () => {
  const view = { status: 'PUSHED' };

  it('updates rows of the page in place and ignores states older than the row', () => {
    const current = page(row('d-12', { progress: 0, updatedAt: '2026-01-01T10:00:05.000Z' }), row('d-14'));
    const plan = planBatch(
      current,
      middle,
      view,
      {
        devices: [row('d-12', { updatedAt: '2026-01-01T10:00:01.000Z' }), row('d-14', { updatedAt: '2026-01-01T10:00:09.000Z', currentVersion: '1.1.0' })],
        otherDeviceKeys: [],
        removedDeviceKeys: [],
      },
      10,
    );
    expect(plan.updates.map((r) => r.deviceKey)).toEqual(['d-14']);
    expect(plan.inserts).toEqual([]);
  });

  it('marks rows that left the tab with where they went, and keys that the server only names', () => {
    const current = page(row('d-12'), row('d-13'), row('d-14'));
    const failed = row('d-12', { status: 'FAILED', failureReason: 'CANCELLED_BY_USER', updatedAt: '2026-01-01T10:01:00.000Z' });
    const plan = planBatch(current, middle, view, { devices: [failed], otherDeviceKeys: ['d-13', 'd-99'], removedDeviceKeys: ['d-14'] }, 10);
    expect(plan.departures.get('d-12')).toMatchObject({ status: 'FAILED', removed: false });
    expect(plan.departures.get('d-13')).toEqual({ status: null, removed: false });
    expect(plan.departures.get('d-14')).toEqual({ status: null, removed: true });
    expect(plan.departures.has('d-99')).toBe(false);
  });

  it('inserts newcomers inside the page range in key order, counts the rest, and respects the room left', () => {
    const plan = planBatch(
      page(row('d-10'), row('d-20')),
      middle,
      view,
      { devices: [row('d-17'), row('d-25'), row('d-11'), row('d-15')], otherDeviceKeys: [], removedDeviceKeys: [] },
      2,
    );
    expect(plan.inserts.map((r) => r.deviceKey)).toEqual(['d-11', 'd-17']);
    expect(plan.outside).toBe(2);
  });

  it('applies the searches the subscription cannot filter by (key, version, failure time)', () => {
    const failedView = {
      status: 'FAILED',
      deviceKey: '1',
      currentVersion: '1.0.0',
      failedAfter: '2026-01-01T10:00:00.000Z',
      failedBefore: '2026-01-01T11:00:00.000Z',
    };
    const failed = (key: string, patch: Partial<DeviceRow>) => row(key, { status: 'FAILED', failedAt: '2026-01-01T10:30:00.000Z', ...patch });
    expect(matchesView(failed('d-15', {}), failedView)).toBe(true);
    expect(matchesView(failed('d-25', {}), failedView)).toBe(false);
    expect(matchesView(failed('d-15', { currentVersion: '1.1.0' }), failedView)).toBe(false);
    expect(matchesView(failed('d-15', { failedAt: '2026-01-01T11:00:00.000Z' }), failedView)).toBe(false);
    expect(matchesView(failed('d-15', { failedAt: '2026-01-01T10:00:00.000Z' }), failedView)).toBe(true);
    // A row on the page that stops matching a search leaves the view.
    const plan = planBatch(
      page(failed('d-15', {})),
      { ...middle, firstKey: 'd-15', lastKey: 'd-15' },
      failedView,
      { devices: [failed('d-15', { currentVersion: '1.1.0', updatedAt: '2026-01-01T12:00:00.000Z' })], otherDeviceKeys: [], removedDeviceKeys: [] },
      5,
    );
    expect(plan.departures.get('d-15')?.status).toBe('FAILED');
  });
});

describe('mergeKeys', () => {
  it('merges sorted lists without duplicates', () => {
    expect(mergeKeys(['a', 'c', 'e'], ['b', 'c', 'f'])).toEqual(['a', 'b', 'c', 'e', 'f']);
    expect(mergeKeys([], ['a'])).toEqual(['a']);
  });
});
