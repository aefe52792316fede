/** The job's settings and its edit history (who changed what, when), below the device table. */
import { For, Show } from 'solid-js';
import { readFragment, type FragmentOf } from '../../api/graphql';
import { formatMinutes } from '../../format';
import { JOB_FIELD_LABELS } from '../../labels';
import { formatDateTime, useTimes } from '../../times';
import { JobSettingsFields, type JobDetail } from './documents';

/** A recorded value of the edit history in words: lists joined, nothing as "—", times in ISO order. */
function editValue(value: string | null | undefined): string {
  if (value === null || value === undefined || value === '' || value === 'null') return '—';
  try {
    const parsed = JSON.parse(value) as unknown;
    if (Array.isArray(parsed))
      return parsed.length ? parsed.map((v) => (typeof v === 'object' ? Object.values(v as object).join('=') : String(v))).join(', ') : 'none';
    if (parsed && typeof parsed === 'object')
      return Object.entries(parsed as Record<string, unknown>)
        .filter(([, v]) => v !== null && v !== undefined)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
    return String(parsed);
  } catch {
    return value;
  }
}

export function JobSettingsSummary(props: { job: JobDetail }) {
  const times = useTimes();
  const s = () => readFragment(JobSettingsFields, props.job as unknown as FragmentOf<typeof JobSettingsFields>);
  const list = (items: readonly string[], empty: string) => (items.length ? items.join(', ') : empty);
  const schedule = () => {
    const sc = s().schedule;
    if (!sc) return 'None: pushes as soon as devices are available';
    const parts = [];
    // The schedule's times in its own zone, as the schedule form states them.
    if (sc.startAt) parts.push(`starts ${formatDateTime(sc.startAt, sc.timezone)}`);
    if (sc.endAt) parts.push(`ends ${formatDateTime(sc.endAt, sc.timezone)}`);
    if (sc.dailyWindowStart && sc.dailyWindowEnd) parts.push(`daily ${sc.dailyWindowStart}–${sc.dailyWindowEnd}`);
    parts.push(`time zone ${sc.timezone}`);
    return parts.join(', ');
  };
  return (
    <div class="panels">
      <div class="card panel">
        <h2 class="card-title">Settings</h2>
        <dl class="settings" data-testid="job-settings">
          <dt>Scope</dt>
          <dd>
            {s().scope.allDevices ? 'All devices of the product' : `${s().scope.deviceKeys.length} device keys`}
            <Show when={s().scope.tags.length}>
              {' '}
              with tags{' '}
              {s()
                .scope.tags.map((t) => `${t.key}=${t.value}`)
                .join(', ')}
            </Show>
          </dd>
          <dt>Version number to be upgraded</dt>
          <dd>{list(s().scope.srcVersions.length ? s().scope.srcVersions : s().srcVersions, 'Any version')}</dd>
          <dt>Timeout</dt>
          <dd>{formatMinutes(s().timeoutMinutes)}</dd>
          <Show when={s().type === 'UPGRADE'}>
            <dt>Policy</dt>
            <dd>{s().policy === 'SNAPSHOT' ? 'Snapshot (targets fixed at creation)' : 'Incremental (matching devices are added)'}</dd>
            <dt>Max concurrency</dt>
            <dd>{s().maxConcurrency}</dd>
            <dt>Retry</dt>
            <dd>{s().retry.count === 0 ? 'No automatic retry' : `${s().retry.count} × after ${formatMinutes(s().retry.intervalMinutes)}`}</dd>
            <dt>Schedule</dt>
            <dd>{schedule()}</dd>
            <dt>Push rate</dt>
            <dd>{s().pushRatePerMinute ? `${s().pushRatePerMinute} devices / minute` : 'No limit'}</dd>
            <dt>Abort threshold</dt>
            <dd>{s().abortThreshold ? `Stop at ${s().abortThreshold!.percent}% failed after ${s().abortThreshold!.minFinished} finished` : 'None'}</dd>
          </Show>
        </dl>
      </div>
      <div class="card panel">
        <h2 class="card-title">Edit history</h2>
        <Show when={props.job.edits.length} fallback={<div class="muted">No edits since the job was created.</div>}>
          <ol class="history" data-testid="edit-history">
            <For each={props.job.edits}>
              {(edit) => (
                <li>
                  <div>
                    <strong>{edit.editedBy}</strong> <span class="muted">{times.format(edit.editedAt)}</span>
                  </div>
                  <ul>
                    <For each={edit.changes}>
                      {(c) => (
                        <li>
                          <span class="edit-field">{JOB_FIELD_LABELS[c.field] ?? c.field}</span>: {editValue(c.from)} → {editValue(c.to)}
                        </li>
                      )}
                    </For>
                  </ul>
                </li>
              )}
            </For>
          </ol>
        </Show>
      </div>
    </div>
  );
}
