/**
 * How a page of the job's device table follows jobDeviceUpdates without reloading (pure, so it is
 * unit-tested). The rules, chosen so that rows never jump away under the operator's pointer:
 *
 * - a device on the page that changed and still matches the view is updated in place;
 * - a device on the page that left the view (another tab, a filter no longer matching, removed from
 *   the job) stays where it is, marked with where it went, and can no longer be selected;
 * - a device that newly matches and whose key falls inside the page's key range is inserted in
 *   key order (the page is a key range: the table pages by device key); one outside the range is
 *   only counted, so the operator is told there is more to see;
 * - updates older than what the row shows (by updatedAt) are ignored, so the first page read and
 *   the subscription can overlap without a row going back in time.
 */
export interface DeviceRow {
  /** The JobDevice's global ID (to read its current state again). */
  id?: string;
  deviceKey: string;
  attempt?: number;
  status: string;
  progress: number;
  failureReason: string | null;
  failureReasonText: string | null;
  failureDetail: string | null;
  waitingReason: string | null;
  currentVersion: string | null;
  /** The device's wave of the job's rollout plan (null without one). */
  wave?: number | null;
  pushedAt: string | null;
  failedAt: string | null;
  updatedAt: string;
}

/** The view the table shows: the tab plus the searches of DESIGN §3. */
export interface DeviceView {
  status: string;
  deviceKey?: string;
  currentVersion?: string;
  failureReason?: string;
  failedAfter?: string;
  failedBefore?: string;
  /** Only the devices of this wave of the rollout plan. */
  wave?: number;
}

/** Where the loaded page sits in the view's key order. */
export interface PageBounds {
  firstKey: string | null;
  lastKey: string | null;
  hasPrevious: boolean;
  hasNext: boolean;
}

export interface BatchInput {
  devices: DeviceRow[];
  otherDeviceKeys: string[];
  removedDeviceKeys: string[];
}

export interface BatchPlan {
  /** Rows of the page in their new state (still matching the view). */
  updates: DeviceRow[];
  /** Rows of the page that left the view: key → the status they moved to (null: unknown or removed). */
  departures: Map<string, { status: string | null; row?: DeviceRow; removed: boolean }>;
  /** New rows for the page, in key order. */
  inserts: DeviceRow[];
  /** Devices that newly match the view but lie outside this page. */
  outside: number;
}

export function matchesView(row: DeviceRow, view: DeviceView): boolean {
  if (row.status !== view.status) return false;
  if (view.deviceKey && !row.deviceKey.includes(view.deviceKey)) return false;
  if (view.currentVersion && row.currentVersion !== view.currentVersion) return false;
  if (view.failureReason && row.failureReason !== view.failureReason) return false;
  if (view.wave !== undefined && row.wave !== view.wave) return false;
  const failedAt = row.failedAt ? Date.parse(row.failedAt) : null;
  if (view.failedAfter && (failedAt === null || failedAt < Date.parse(view.failedAfter))) return false;
  if (view.failedBefore && (failedAt === null || failedAt >= Date.parse(view.failedBefore))) return false;
  return true;
}

export function isNewer(candidate: DeviceRow, current: DeviceRow | undefined): boolean {
  return !current || Date.parse(candidate.updatedAt) >= Date.parse(current.updatedAt);
}

/** Whether a key belongs between the page's first and last rows (or at an open end). */
export function withinPage(key: string, bounds: PageBounds): boolean {
  if (bounds.firstKey === null || bounds.lastKey === null) return !bounds.hasPrevious && !bounds.hasNext;
  const afterStart = key > bounds.firstKey || (!bounds.hasPrevious && key < bounds.firstKey);
  const beforeEnd = key < bounds.lastKey || (!bounds.hasNext && key > bounds.lastKey);
  return afterStart && beforeEnd;
}

export function planBatch(page: ReadonlyMap<string, DeviceRow>, bounds: PageBounds, view: DeviceView, batch: BatchInput, room: number): BatchPlan {
  const plan: BatchPlan = { updates: [], departures: new Map(), inserts: [], outside: 0 };
  for (const device of batch.devices) {
    const current = page.get(device.deviceKey);
    if (!isNewer(device, current)) continue;
    if (matchesView(device, view)) {
      if (current) plan.updates.push(device);
      else if (withinPage(device.deviceKey, bounds) && plan.inserts.length < room) plan.inserts.push(device);
      else plan.outside++;
    } else if (current) {
      plan.departures.set(device.deviceKey, { status: device.status, row: device, removed: false });
    }
  }
  for (const key of batch.otherDeviceKeys) {
    if (page.has(key) && !plan.departures.has(key)) plan.departures.set(key, { status: null, removed: false });
  }
  for (const key of batch.removedDeviceKeys) {
    if (page.has(key)) plan.departures.set(key, { status: null, removed: true });
  }
  plan.inserts.sort((a, b) => (a.deviceKey < b.deviceKey ? -1 : a.deviceKey > b.deviceKey ? 1 : 0));
  return plan;
}

/** Merges sorted new keys into the page's sorted keys. */
export function mergeKeys(keys: readonly string[], inserts: readonly string[]): string[] {
  if (inserts.length === 0) return keys as string[];
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < keys.length || j < inserts.length) {
    if (j >= inserts.length || (i < keys.length && keys[i] < inserts[j])) out.push(keys[i++]);
    else if (i < keys.length && keys[i] === inserts[j]) {
      out.push(keys[i++]);
      j++;
    } else out.push(inserts[j++]);
  }
  return out;
}
