/**
 * The settings of an OTA job, as one form for creating (Verify, Batch Upgrade) and editing
 * ("Verification Job" / "Upgrade Job"). Every control belongs to one EditJobInput field; in edit mode
 * a control is enabled only when the job's `editableFields` lists its field (DESIGN §3).
 *
 * The schedule is in one stated zone: its start, end and daily window are wall-clock times in the
 * schedule's own time zone (the field beside them). A start or end with seconds keeps them, so that
 * an untouched schedule is sent back as it was (and the edit form sends only what changed at all:
 * `changedSettings`).
 */
import { For, Show, type JSX } from 'solid-js';
import type { SetStoreFunction } from 'solid-js/store';
import { splitList } from '../format';
import type { JobType } from '../labels';
import { browserZone, fromZonedInput, isValidZone, toZonedInput } from '../times';
import { checkWholeNumber, Field, FieldError, invalidProps, type FieldErrors } from './Form';

export type JobField =
  | 'allDevices'
  | 'deviceKeys'
  | 'srcVersions'
  | 'tags'
  | 'timeoutMinutes'
  | 'policy'
  | 'maxConcurrency'
  | 'retry'
  | 'schedule'
  | 'pushRatePerMinute'
  | 'abortThreshold';

export const UPGRADE_FIELDS: readonly JobField[] = [
  'allDevices',
  'deviceKeys',
  'srcVersions',
  'tags',
  'timeoutMinutes',
  'policy',
  'maxConcurrency',
  'retry',
  'schedule',
  'pushRatePerMinute',
  'abortThreshold',
];

export interface JobFormValues {
  allDevices: boolean;
  deviceKeys: string;
  srcVersions: string;
  tags: string;
  timeoutMinutes: string;
  policy: 'SNAPSHOT' | 'INCREMENTAL';
  maxConcurrency: string;
  retryCount: string;
  retryIntervalMinutes: string;
  scheduled: boolean;
  /** Wall-clock time in `timezone`. */
  startAt: string;
  endAt: string;
  dailyWindowStart: string;
  dailyWindowEnd: string;
  timezone: string;
  pushRatePerMinute: string;
  abort: boolean;
  abortPercent: string;
  abortMinFinished: string;
}

/** The job as the API returns it (JobSettingsFields). */
export interface JobSettings {
  timeoutMinutes: number;
  maxConcurrency: number;
  policy: 'SNAPSHOT' | 'INCREMENTAL';
  pushRatePerMinute: number | null;
  scope: { allDevices: boolean; deviceKeys: readonly string[]; srcVersions: readonly string[]; tags: readonly { key: string; value: string }[] };
  retry: { count: number; intervalMinutes: number };
  schedule: { startAt: string | null; endAt: string | null; dailyWindowStart: string | null; dailyWindowEnd: string | null; timezone: string } | null;
  abortThreshold: { percent: number; minFinished: number } | null;
}

export function defaultJobForm(): JobFormValues {
  return {
    allDevices: true,
    deviceKeys: '',
    srcVersions: '',
    tags: '',
    timeoutMinutes: '120',
    policy: 'SNAPSHOT',
    maxConcurrency: '300',
    retryCount: '0',
    retryIntervalMinutes: '5',
    scheduled: false,
    startAt: '',
    endAt: '',
    dailyWindowStart: '',
    dailyWindowEnd: '',
    timezone: browserZone(),
    pushRatePerMinute: '',
    abort: false,
    abortPercent: '20',
    abortMinFinished: '10',
  };
}

export function jobFormFrom(job: JobSettings): JobFormValues {
  const zone = job.schedule?.timezone ?? 'UTC';
  return {
    allDevices: job.scope.allDevices,
    deviceKeys: job.scope.deviceKeys.join('\n'),
    srcVersions: job.scope.srcVersions.join(', '),
    tags: job.scope.tags.map((t) => `${t.key}=${t.value}`).join(', '),
    timeoutMinutes: String(job.timeoutMinutes),
    policy: job.policy,
    maxConcurrency: String(job.maxConcurrency),
    retryCount: String(job.retry.count),
    retryIntervalMinutes: String(job.retry.intervalMinutes),
    scheduled: job.schedule !== null,
    startAt: toZonedInput(job.schedule?.startAt, zone),
    endAt: toZonedInput(job.schedule?.endAt, zone),
    dailyWindowStart: job.schedule?.dailyWindowStart ?? '',
    dailyWindowEnd: job.schedule?.dailyWindowEnd ?? '',
    timezone: zone,
    pushRatePerMinute: job.pushRatePerMinute === null ? '' : String(job.pushRatePerMinute),
    abort: job.abortThreshold !== null,
    abortPercent: String(job.abortThreshold?.percent ?? 20),
    abortMinFinished: String(job.abortThreshold?.minFinished ?? 10),
  };
}

const num = (text: string) => (text.trim() === '' ? null : Number(text));

function tagsOf(text: string) {
  return splitList(text).map((pair) => {
    const at = pair.indexOf('=');
    return at < 0 ? { key: pair, value: '' } : { key: pair.slice(0, at), value: pair.slice(at + 1) };
  });
}

/** The values of the given fields, as EditJobInput / CreateUpgradeJobInput want them. */
export function jobSettingsInput(values: JobFormValues, fields: readonly JobField[]) {
  const has = (f: JobField) => fields.includes(f);
  const input: Record<string, unknown> = {};
  if (has('allDevices')) input.allDevices = values.allDevices;
  if (has('deviceKeys') && (!has('allDevices') || !values.allDevices)) input.deviceKeys = splitList(values.deviceKeys);
  if (has('srcVersions')) input.srcVersions = splitList(values.srcVersions);
  if (has('tags')) input.tags = values.allDevices || !has('allDevices') ? tagsOf(values.tags) : [];
  if (has('timeoutMinutes')) input.timeoutMinutes = num(values.timeoutMinutes);
  if (has('policy')) input.policy = values.policy;
  if (has('maxConcurrency')) input.maxConcurrency = num(values.maxConcurrency);
  if (has('retry')) input.retry = { count: num(values.retryCount) ?? 0, intervalMinutes: num(values.retryIntervalMinutes) ?? 0 };
  if (has('schedule')) {
    const zone = values.timezone.trim() || 'UTC';
    input.schedule = values.scheduled
      ? {
          startAt: fromZonedInput(values.startAt, zone),
          endAt: fromZonedInput(values.endAt, zone),
          dailyWindowStart: values.dailyWindowStart || null,
          dailyWindowEnd: values.dailyWindowEnd || null,
          timezone: zone,
        }
      : null;
  }
  if (has('pushRatePerMinute')) input.pushRatePerMinute = num(values.pushRatePerMinute);
  if (has('abortThreshold')) input.abortThreshold = values.abort ? { percent: num(values.abortPercent) ?? 0, minFinished: num(values.abortMinFinished) } : null;
  return input;
}

/**
 * Only the settings whose value differs from what the form started with: saving an untouched form
 * changes nothing, and saving one change changes that one field.
 */
export function changedSettings(values: JobFormValues, initial: JobFormValues, fields: readonly JobField[]): Record<string, unknown> {
  const now = jobSettingsInput(values, fields);
  const before = jobSettingsInput(initial, fields);
  const changed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(now)) {
    if (JSON.stringify(value) !== JSON.stringify(before[key])) changed[key] = value;
  }
  // A new scope mode comes with its own list: all devices drop the keys, keys drop the tags.
  if ('allDevices' in changed) {
    if ('deviceKeys' in now) changed.deviceKeys = now.deviceKeys;
    changed.tags = now.tags;
  }
  return changed;
}

/** The form control an input path of the API names (without "input"), or null. */
export function jobFormFieldOf(path: readonly string[]): string | null {
  const [first, second] = path[0] === 'scope' ? path.slice(1) : path;
  switch (first) {
    case undefined:
      return null;
    case 'allDevices':
      return 'scope';
    case 'retry':
      return second === 'intervalMinutes' ? 'retryIntervalMinutes' : 'retryCount';
    case 'abortThreshold':
      return second === 'minFinished' ? 'abortMinFinished' : 'abortPercent';
    case 'schedule':
      return ['startAt', 'endAt', 'dailyWindowStart', 'dailyWindowEnd', 'timezone'].includes(second) ? second : 'startAt';
    case 'firmwareId':
      return null;
    default:
      return first;
  }
}

/**
 * The form's own checks, before anything is sent, in the operator's words (the same rules as the
 * API's, docs/domain-rules.md). Only enabled fields are checked.
 */
export function validateJobForm(values: JobFormValues, type: JobType, fields: readonly JobField[]): FieldErrors {
  const errors: FieldErrors = {};
  const has = (f: JobField) => fields.includes(f);
  const set = (name: string, message: string | null) => {
    if (message && !errors[name]) errors[name] = message;
  };
  const keys = splitList(values.deviceKeys);
  if (has('deviceKeys')) {
    if (type === 'VERIFICATION' && (keys.length < 1 || keys.length > 5)) set('deviceKeys', 'Choose 1 to 5 devices to verify on.');
    if (type === 'UPGRADE' && !values.allDevices && keys.length === 0) set('deviceKeys', 'List at least one device key, or choose all devices.');
    const bad = keys.find((k) => !/^[A-Za-z0-9_.:-]{1,64}$/.test(k));
    if (bad) set('deviceKeys', `“${bad}” is not a device key: 1–64 letters, digits, _ . : -`);
    if (new Set(keys).size !== keys.length) set('deviceKeys', 'A device key is listed twice.');
  }
  if (has('tags') && values.allDevices) {
    const bad = tagsOf(values.tags).find((t) => !t.key || !t.value);
    if (bad) set('tags', `Write each tag as key=value (“${bad.key || '='}”).`);
  }
  if (has('timeoutMinutes')) set('timeoutMinutes', checkWholeNumber(values.timeoutMinutes, 5, 2880, { unit: 'minutes (48 hours)' }));
  if (has('maxConcurrency')) set('maxConcurrency', checkWholeNumber(values.maxConcurrency, 1, 100_000, { unit: 'devices' }));
  if (has('pushRatePerMinute')) set('pushRatePerMinute', checkWholeNumber(values.pushRatePerMinute, 1, 1_000_000, { optional: true, unit: 'per minute' }));
  if (has('retry')) {
    set('retryCount', checkWholeNumber(values.retryCount, 0, 5));
    set('retryIntervalMinutes', checkWholeNumber(values.retryIntervalMinutes, 0, 1440, { unit: 'minutes' }));
  }
  if (has('abortThreshold') && values.abort) {
    set('abortPercent', checkWholeNumber(values.abortPercent, 1, 100, { unit: '%' }));
    set('abortMinFinished', checkWholeNumber(values.abortMinFinished, 1, 100_000, { unit: 'devices' }));
  }
  if (has('schedule') && values.scheduled) {
    const zone = values.timezone.trim();
    if (!zone || !isValidZone(zone)) set('timezone', 'Enter a time zone such as UTC or Europe/Berlin.');
    const start = values.startAt ? fromZonedInput(values.startAt, zone || 'UTC') : null;
    const end = values.endAt ? fromZonedInput(values.endAt, zone || 'UTC') : null;
    if (values.startAt && !start) set('startAt', 'Enter a date and time.');
    if (values.endAt && !end) set('endAt', 'Enter a date and time.');
    if (start && end && Date.parse(end) <= Date.parse(start)) set('endAt', 'The end must be after the start.');
    if (!!values.dailyWindowStart !== !!values.dailyWindowEnd)
      set(values.dailyWindowStart ? 'dailyWindowEnd' : 'dailyWindowStart', 'Give both ends of the daily window, or neither.');
    else if (values.dailyWindowStart && values.dailyWindowStart === values.dailyWindowEnd)
      set('dailyWindowEnd', 'The window must end at another time than it starts.');
  }
  return errors;
}

/**
 * The controls. `enabled(field)` decides which are usable; `deviceKeys` may be replaced (the Verify
 * dialog picks its up-to-five devices from the fleet instead of typing keys).
 */
export function JobSettingsForm(props: {
  type: JobType;
  values: JobFormValues;
  setValues: SetStoreFunction<JobFormValues>;
  enabled: (field: JobField) => boolean;
  errors: FieldErrors;
  deviceKeysControl?: JSX.Element;
}) {
  const v = props.values;
  const set = props.setValues;
  const off = (field: JobField) => !props.enabled(field);
  const err = () => props.errors;
  const inv = (name: string) => invalidProps(props.errors, name);
  const zone = () => v.timezone.trim() || 'UTC';
  return (
    <div class="form-grid">
      <Show when={props.type === 'UPGRADE'}>
        <fieldset class="fieldset field-wide" data-field="allDevices">
          <legend>Scope</legend>
          <label class="radio">
            <input type="radio" name="scope" checked={v.allDevices} disabled={off('allDevices')} onChange={() => set('allDevices', true)} {...inv('scope')} />
            All devices of the product
          </label>
          <label class="radio">
            <input type="radio" name="scope" checked={!v.allDevices} disabled={off('allDevices')} onChange={() => set('allDevices', false)} />
            Only these device keys
          </label>
          <FieldError errors={err()} name="scope" />
        </fieldset>
      </Show>
      <Show when={props.type === 'VERIFICATION' || !v.allDevices}>
        <Field
          label={props.type === 'VERIFICATION' ? 'Devices to verify on (1 to 5)' : 'Device keys'}
          name="deviceKeys"
          errors={err()}
          hint="Separated by commas, spaces or lines"
          wide
        >
          {props.deviceKeysControl ?? (
            <textarea
              class="input"
              name="deviceKeys"
              rows={3}
              disabled={off('deviceKeys')}
              value={v.deviceKeys}
              onInput={(e) => set('deviceKeys', e.currentTarget.value)}
              {...inv('deviceKeys')}
            />
          )}
        </Field>
      </Show>
      <Field label="Version number to be upgraded" name="srcVersions" errors={err()} hint="Only devices on these versions; empty = any version">
        <input
          class="input"
          name="srcVersions"
          disabled={off('srcVersions')}
          value={v.srcVersions}
          placeholder="e.g. 1.0.0, 1.1.0"
          onInput={(e) => set('srcVersions', e.currentTarget.value)}
          {...inv('srcVersions')}
        />
      </Field>
      <Show when={props.type === 'UPGRADE' && v.allDevices}>
        <Field label="Tags" name="tags" errors={err()} hint="key=value, comma-separated; all keys must match">
          <input
            class="input"
            name="tags"
            disabled={off('tags')}
            value={v.tags}
            placeholder="e.g. region=eu-west"
            onInput={(e) => set('tags', e.currentTarget.value)}
            {...inv('tags')}
          />
        </Field>
      </Show>
      <Field label="Timeout (minutes)" name="timeoutMinutes" errors={err()} hint="Counted from the push; 5 minutes to 48 hours">
        <input
          class="input"
          type="number"
          name="timeoutMinutes"
          min="5"
          max="2880"
          disabled={off('timeoutMinutes')}
          value={v.timeoutMinutes}
          onInput={(e) => set('timeoutMinutes', e.currentTarget.value)}
          {...inv('timeoutMinutes')}
        />
      </Field>
      <Show when={props.type === 'UPGRADE'}>
        <Field label="Policy" name="policy" errors={err()}>
          <select
            class="input"
            name="policy"
            disabled={off('policy')}
            value={v.policy}
            onChange={(e) => set('policy', e.currentTarget.value as JobFormValues['policy'])}
          >
            <option value="SNAPSHOT">Snapshot: targets fixed at creation</option>
            <option value="INCREMENTAL">Incremental: devices that match later are added</option>
          </select>
        </Field>
        <Field label="Max concurrency" name="maxConcurrency" errors={err()} hint="Most devices Pushed + In Progress at once (1 to 100,000)">
          <input
            class="input"
            type="number"
            name="maxConcurrency"
            min="1"
            disabled={off('maxConcurrency')}
            value={v.maxConcurrency}
            onInput={(e) => set('maxConcurrency', e.currentTarget.value)}
            {...inv('maxConcurrency')}
          />
        </Field>
        <Field label="Push rate (devices per minute)" name="pushRatePerMinute" errors={err()} hint="Empty = no limit">
          <input
            class="input"
            type="number"
            name="pushRatePerMinute"
            min="1"
            disabled={off('pushRatePerMinute')}
            value={v.pushRatePerMinute}
            onInput={(e) => set('pushRatePerMinute', e.currentTarget.value)}
            {...inv('pushRatePerMinute')}
          />
        </Field>
        <fieldset class="fieldset" data-field="retry">
          <legend>Retry failed devices</legend>
          <div class="inline-fields">
            <Field label="Retries (0–5)" name="retryCount" errors={err()}>
              <input
                class="input"
                type="number"
                name="retryCount"
                min="0"
                max="5"
                disabled={off('retry')}
                value={v.retryCount}
                onInput={(e) => set('retryCount', e.currentTarget.value)}
                {...inv('retryCount')}
              />
            </Field>
            <Field label="Interval (minutes)" name="retryIntervalMinutes" errors={err()}>
              <input
                class="input"
                type="number"
                name="retryIntervalMinutes"
                min="0"
                disabled={off('retry')}
                value={v.retryIntervalMinutes}
                onInput={(e) => set('retryIntervalMinutes', e.currentTarget.value)}
                {...inv('retryIntervalMinutes')}
              />
            </Field>
          </div>
        </fieldset>
        <fieldset class="fieldset" data-field="abortThreshold">
          <legend>
            <label class="check">
              <input type="checkbox" name="abort" disabled={off('abortThreshold')} checked={v.abort} onChange={(e) => set('abort', e.currentTarget.checked)} />
              Stop the job when too many fail
            </label>
          </legend>
          <div class="inline-fields">
            <Field label="Failure %" name="abortPercent" errors={err()}>
              <input
                class="input"
                type="number"
                name="abortPercent"
                min="1"
                max="100"
                disabled={off('abortThreshold') || !v.abort}
                value={v.abortPercent}
                onInput={(e) => set('abortPercent', e.currentTarget.value)}
                {...inv('abortPercent')}
              />
            </Field>
            <Field label="After devices finished" name="abortMinFinished" errors={err()}>
              <input
                class="input"
                type="number"
                name="abortMinFinished"
                min="1"
                disabled={off('abortThreshold') || !v.abort}
                value={v.abortMinFinished}
                onInput={(e) => set('abortMinFinished', e.currentTarget.value)}
                {...inv('abortMinFinished')}
              />
            </Field>
          </div>
        </fieldset>
        <fieldset class="fieldset field-wide" data-field="schedule">
          <legend>
            <label class="check">
              <input
                type="checkbox"
                name="scheduled"
                disabled={off('schedule')}
                checked={v.scheduled}
                onChange={(e) => set('scheduled', e.currentTarget.checked)}
              />
              Schedule
            </label>
          </legend>
          <p class="field-hint schedule-zone" data-testid="schedule-zone">
            Start, end and the daily window are times in <strong>{zone()}</strong> (the time zone below).
          </p>
          <div class="inline-fields">
            <Field label={`Start (${zone()})`} name="startAt" errors={err()}>
              <input
                class="input"
                type="datetime-local"
                step="1"
                name="startAt"
                disabled={off('schedule') || !v.scheduled}
                value={v.startAt}
                onInput={(e) => set('startAt', e.currentTarget.value)}
                {...inv('startAt')}
              />
            </Field>
            <Field label={`End (${zone()})`} name="endAt" errors={err()}>
              <input
                class="input"
                type="datetime-local"
                step="1"
                name="endAt"
                disabled={off('schedule') || !v.scheduled}
                value={v.endAt}
                onInput={(e) => set('endAt', e.currentTarget.value)}
                {...inv('endAt')}
              />
            </Field>
            <Field label="Daily window from" name="dailyWindowStart" errors={err()}>
              <input
                class="input"
                type="time"
                name="dailyWindowStart"
                disabled={off('schedule') || !v.scheduled}
                value={v.dailyWindowStart}
                onInput={(e) => set('dailyWindowStart', e.currentTarget.value)}
                {...inv('dailyWindowStart')}
              />
            </Field>
            <Field label="to" name="dailyWindowEnd" errors={err()}>
              <input
                class="input"
                type="time"
                name="dailyWindowEnd"
                disabled={off('schedule') || !v.scheduled}
                value={v.dailyWindowEnd}
                onInput={(e) => set('dailyWindowEnd', e.currentTarget.value)}
                {...inv('dailyWindowEnd')}
              />
            </Field>
            <Field label="Time zone" name="timezone" errors={err()}>
              <input
                class="input"
                name="timezone"
                list="timezones"
                disabled={off('schedule') || !v.scheduled}
                value={v.timezone}
                onInput={(e) => set('timezone', e.currentTarget.value)}
                {...inv('timezone')}
              />
            </Field>
          </div>
          <datalist id="timezones">
            <For each={['UTC', 'Europe/London', 'Europe/Berlin', 'America/New_York', 'America/Los_Angeles', 'Asia/Shanghai', 'Asia/Singapore', 'Asia/Tokyo']}>
              {(tz) => <option value={tz} />}
            </For>
          </datalist>
        </fieldset>
      </Show>
    </div>
  );
}
