/**
 * The settings of an OTA job, as one form for creating (Verify, Batch Upgrade) and editing
 * ("Verification Job" / "Upgrade Job"). Every control belongs to one EditJobInput field; in edit mode
 * a control is enabled only when the job's `editableFields` lists its field (DESIGN §3).
 */
import { For, Show, type JSX } from 'solid-js';
import type { SetStoreFunction } from 'solid-js/store';
import { fromLocalInput, splitList, toLocalInput } from '../format';
import type { JobType } from '../labels';

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
export const VERIFICATION_FIELDS: readonly JobField[] = ['deviceKeys', 'srcVersions', 'timeoutMinutes'];

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
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
    pushRatePerMinute: '',
    abort: false,
    abortPercent: '20',
    abortMinFinished: '10',
  };
}

export function jobFormFrom(job: JobSettings): JobFormValues {
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
    startAt: toLocalInput(job.schedule?.startAt),
    endAt: toLocalInput(job.schedule?.endAt),
    dailyWindowStart: job.schedule?.dailyWindowStart ?? '',
    dailyWindowEnd: job.schedule?.dailyWindowEnd ?? '',
    timezone: job.schedule?.timezone ?? 'UTC',
    pushRatePerMinute: job.pushRatePerMinute === null ? '' : String(job.pushRatePerMinute),
    abort: job.abortThreshold !== null,
    abortPercent: String(job.abortThreshold?.percent ?? 20),
    abortMinFinished: String(job.abortThreshold?.minFinished ?? 10),
  };
}

/** A number the operator typed; NaN (sent as is) lets the API name the field in its error. */
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
  if (has('tags')) input.tags = tagsOf(values.tags);
  if (has('timeoutMinutes')) input.timeoutMinutes = num(values.timeoutMinutes);
  if (has('policy')) input.policy = values.policy;
  if (has('maxConcurrency')) input.maxConcurrency = num(values.maxConcurrency);
  if (has('retry')) input.retry = { count: num(values.retryCount) ?? 0, intervalMinutes: num(values.retryIntervalMinutes) ?? 0 };
  if (has('schedule')) {
    input.schedule = values.scheduled
      ? {
          startAt: fromLocalInput(values.startAt),
          endAt: fromLocalInput(values.endAt),
          dailyWindowStart: values.dailyWindowStart || null,
          dailyWindowEnd: values.dailyWindowEnd || null,
          timezone: values.timezone || null,
        }
      : null;
  }
  if (has('pushRatePerMinute')) input.pushRatePerMinute = num(values.pushRatePerMinute);
  if (has('abortThreshold')) input.abortThreshold = values.abort ? { percent: num(values.abortPercent) ?? 0, minFinished: num(values.abortMinFinished) } : null;
  return input;
}

function Field(props: { label: string; hint?: string; children: JSX.Element; wide?: boolean }) {
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control is the label's child (props.children)
    <label class="field" classList={{ 'field-wide': props.wide }}>
      <span class="field-label">{props.label}</span>
      {props.children}
      <Show when={props.hint}>
        <span class="field-hint">{props.hint}</span>
      </Show>
    </label>
  );
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
  deviceKeysControl?: JSX.Element;
}) {
  const v = props.values;
  const set = props.setValues;
  const off = (field: JobField) => !props.enabled(field);
  return (
    <div class="form-grid">
      <Show when={props.type === 'UPGRADE'}>
        <fieldset class="fieldset field-wide" data-field="allDevices">
          <legend>Scope</legend>
          <label class="radio">
            <input type="radio" name="scope" checked={v.allDevices} disabled={off('allDevices')} onChange={() => set('allDevices', true)} />
            All devices of the product
          </label>
          <label class="radio">
            <input type="radio" name="scope" checked={!v.allDevices} disabled={off('allDevices')} onChange={() => set('allDevices', false)} />
            Only these device keys
          </label>
        </fieldset>
      </Show>
      <Show when={props.type === 'VERIFICATION' || !v.allDevices}>
        <Field label={props.type === 'VERIFICATION' ? 'Devices to verify on (1 to 5)' : 'Device keys'} hint="Separated by commas, spaces or lines" wide>
          {props.deviceKeysControl ?? (
            <textarea
              class="input"
              name="deviceKeys"
              rows={3}
              disabled={off('deviceKeys')}
              value={v.deviceKeys}
              onInput={(e) => set('deviceKeys', e.currentTarget.value)}
            />
          )}
        </Field>
      </Show>
      <Field label="Version number to be upgraded" hint="Only devices on these versions; empty = any version">
        <input
          class="input"
          name="srcVersions"
          disabled={off('srcVersions')}
          value={v.srcVersions}
          placeholder="e.g. 1.0.0, 1.1.0"
          onInput={(e) => set('srcVersions', e.currentTarget.value)}
        />
      </Field>
      <Show when={props.type === 'UPGRADE'}>
        <Field label="Tags" hint="key=value, comma-separated; all keys must match">
          <input
            class="input"
            name="tags"
            disabled={off('tags')}
            value={v.tags}
            placeholder="e.g. region=eu-west"
            onInput={(e) => set('tags', e.currentTarget.value)}
          />
        </Field>
      </Show>
      <Field label="Timeout (minutes)" hint="Counted from the push; 5 minutes to 48 hours">
        <input
          class="input"
          type="number"
          name="timeoutMinutes"
          min="5"
          max="2880"
          disabled={off('timeoutMinutes')}
          value={v.timeoutMinutes}
          onInput={(e) => set('timeoutMinutes', e.currentTarget.value)}
        />
      </Field>
      <Show when={props.type === 'UPGRADE'}>
        <Field label="Policy">
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
        <Field label="Max concurrency" hint="Most devices Pushed + In Progress at once">
          <input
            class="input"
            type="number"
            name="maxConcurrency"
            min="1"
            disabled={off('maxConcurrency')}
            value={v.maxConcurrency}
            onInput={(e) => set('maxConcurrency', e.currentTarget.value)}
          />
        </Field>
        <Field label="Push rate (devices per minute)" hint="Empty = no limit">
          <input
            class="input"
            type="number"
            name="pushRatePerMinute"
            min="1"
            disabled={off('pushRatePerMinute')}
            value={v.pushRatePerMinute}
            onInput={(e) => set('pushRatePerMinute', e.currentTarget.value)}
          />
        </Field>
        <fieldset class="fieldset" data-field="retry">
          <legend>Retry failed devices</legend>
          <div class="inline-fields">
            <Field label="Retries (0–5)">
              <input
                class="input"
                type="number"
                name="retryCount"
                min="0"
                max="5"
                disabled={off('retry')}
                value={v.retryCount}
                onInput={(e) => set('retryCount', e.currentTarget.value)}
              />
            </Field>
            <Field label="Interval (minutes)">
              <input
                class="input"
                type="number"
                name="retryIntervalMinutes"
                min="0"
                disabled={off('retry')}
                value={v.retryIntervalMinutes}
                onInput={(e) => set('retryIntervalMinutes', e.currentTarget.value)}
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
            <Field label="Failure %">
              <input
                class="input"
                type="number"
                name="abortPercent"
                min="1"
                max="100"
                disabled={off('abortThreshold') || !v.abort}
                value={v.abortPercent}
                onInput={(e) => set('abortPercent', e.currentTarget.value)}
              />
            </Field>
            <Field label="After devices finished">
              <input
                class="input"
                type="number"
                name="abortMinFinished"
                min="1"
                disabled={off('abortThreshold') || !v.abort}
                value={v.abortMinFinished}
                onInput={(e) => set('abortMinFinished', e.currentTarget.value)}
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
          <div class="inline-fields">
            <Field label="Start">
              <input
                class="input"
                type="datetime-local"
                name="startAt"
                disabled={off('schedule') || !v.scheduled}
                value={v.startAt}
                onInput={(e) => set('startAt', e.currentTarget.value)}
              />
            </Field>
            <Field label="End">
              <input
                class="input"
                type="datetime-local"
                name="endAt"
                disabled={off('schedule') || !v.scheduled}
                value={v.endAt}
                onInput={(e) => set('endAt', e.currentTarget.value)}
              />
            </Field>
            <Field label="Daily window from">
              <input
                class="input"
                type="time"
                name="dailyWindowStart"
                disabled={off('schedule') || !v.scheduled}
                value={v.dailyWindowStart}
                onInput={(e) => set('dailyWindowStart', e.currentTarget.value)}
              />
            </Field>
            <Field label="to">
              <input
                class="input"
                type="time"
                name="dailyWindowEnd"
                disabled={off('schedule') || !v.scheduled}
                value={v.dailyWindowEnd}
                onInput={(e) => set('dailyWindowEnd', e.currentTarget.value)}
              />
            </Field>
            <Field label="Time zone">
              <input
                class="input"
                name="timezone"
                list="timezones"
                disabled={off('schedule') || !v.scheduled}
                value={v.timezone}
                onInput={(e) => set('timezone', e.currentTarget.value)}
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
