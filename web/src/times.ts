/**
 * Times in the console: one format everywhere, `2026-12-02 13:34:05 UTC+1` (ISO order, 24 hours, the
 * zone always shown), in the zone the operator chose: the browser's, UTC, or — on a job's pages —
 * the job's own (its schedule's time zone; UTC for a job without one). The choice is kept in the
 * browser (localStorage) and applies at once to every page.
 *
 * The conversions between an instant and a wall-clock time in an IANA zone are here too, for the
 * date-time inputs (failure time search, schedule), which show and take wall-clock time in one
 * stated zone.
 */
import { createContext, createSignal, useContext } from 'solid-js';

export type ZoneSetting = 'browser' | 'utc' | 'job';

const STORAGE_KEY = 'updraft.timeZone';

function storedSetting(): ZoneSetting {
  try {
    const value = globalThis.localStorage?.getItem(STORAGE_KEY);
    return value === 'utc' || value === 'job' || value === 'browser' ? value : 'browser';
  } catch {
    return 'browser';
  }
}

const [zoneSetting, setZoneSettingSignal] = createSignal<ZoneSetting>(storedSetting());
export { zoneSetting };

export function setZoneSetting(setting: ZoneSetting): void {
  setZoneSettingSignal(setting);
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, setting);
  } catch {
    // Private mode: the choice lasts for this page only.
  }
}

export function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** The IANA zone times are shown in, given the setting and the job the page is about (if any). */
export function displayZone(jobZone?: string | null, setting: ZoneSetting = zoneSetting()): string {
  if (setting === 'utc') return 'UTC';
  if (setting === 'job') return jobZone || 'UTC';
  return browserZone();
}

export function isValidZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const partsFormats = new Map<string, Intl.DateTimeFormat>();
function partsFormat(zone: string): Intl.DateTimeFormat {
  let format = partsFormats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'shortOffset',
    });
    partsFormats.set(zone, format);
  }
  return format;
}

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** "UTC", "UTC+1", "UTC-5", "UTC+5:30". */
  zoneLabel: string;
}

function wallTime(ms: number, zone: string): WallTime {
  const parts: Record<string, string> = {};
  for (const p of partsFormat(zone).formatToParts(new Date(ms))) parts[p.type] = p.value;
  const offset = (parts.timeZoneName ?? 'GMT').replace(/^GMT/, '').replace('−', '-');
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    second: Number(parts.second),
    zoneLabel: zone === 'UTC' || offset === '' ? 'UTC' : `UTC${offset}`,
  };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** "2026-12-02 13:34:05 UTC+1"; "—" for no time. */
export function formatDateTime(iso: string | number | null | undefined, zone: string = displayZone()): string {
  if (iso === null || iso === undefined || iso === '') return '—';
  const ms = typeof iso === 'number' ? iso : Date.parse(iso);
  if (Number.isNaN(ms)) return '—';
  const w = wallTime(ms, zone);
  return `${w.year}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)} ${w.zoneLabel}`;
}

/** A clock time (chart axes); with seconds when the times shown together lie within a few minutes. */
export function formatClock(ms: number, withSeconds = false, zone: string = displayZone()): string {
  const w = wallTime(ms, zone);
  return withSeconds ? `${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}` : `${pad(w.hour)}:${pad(w.minute)}`;
}

/** The zone's label now ("UTC+1"), for column headers and input labels. */
export function zoneLabel(zone: string = displayZone(), at = Date.now()): string {
  return wallTime(at, zone).zoneLabel;
}

/** Milliseconds the zone is ahead of UTC at that instant. */
function offsetAt(ms: number, zone: string): number {
  const w = wallTime(ms, zone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(ms / 1000) * 1000;
}

/**
 * "2026-12-02T13:34" or, when the instant has seconds, "2026-12-02T13:34:05" (so that an untouched
 * input gives back exactly the instant it was given), for <input type="datetime-local"> in `zone`.
 */
export function toZonedInput(iso: string | null | undefined, zone: string): string {
  if (!iso) return '';
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return '';
  const w = wallTime(ms, zone);
  const base = `${w.year}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}`;
  return w.second ? `${base}:${pad(w.second)}` : base;
}

/**
 * The instant of a wall-clock time in `zone` (from <input type="datetime-local">); null when empty
 * or not a time. A wall time that the zone skips or repeats (a daylight-saving change) resolves to
 * one of its candidate instants.
 */
export function fromZonedInput(value: string, zone: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/.exec(value.trim());
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map((s) => (s === undefined ? 0 : Number(s)));
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  if (Number.isNaN(asUtc)) return null;
  let ms = asUtc - offsetAt(asUtc, zone);
  const second_ = asUtc - offsetAt(ms, zone);
  if (second_ !== ms) ms = Math.min(ms, second_);
  return new Date(ms).toISOString();
}

/**
 * The zone of the job a page is about (its schedule's), for the "job's zone" setting. Pages about
 * no single job provide none; with that setting they show UTC, which is what a job without a
 * schedule uses.
 */
export const JobZoneContext = createContext<() => string | null>(() => null);

/** Formatting in the zone this part of the page shows times in. */
export function useTimes() {
  const jobZone = useContext(JobZoneContext);
  const zone = () => displayZone(jobZone());
  return {
    zone,
    label: () => zoneLabel(zone()),
    format: (iso: string | number | null | undefined) => formatDateTime(iso, zone()),
    clock: (ms: number, withSeconds = false) => formatClock(ms, withSeconds, zone()),
  };
}
