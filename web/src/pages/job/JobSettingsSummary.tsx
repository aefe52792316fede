/** The job's settings and its edit history (who changed what, when), below the device table. */
import { For, Show } from 'solid-js';
import { readFragment, type FragmentOf } from '../../api/graphql';
import { formatDateTime, formatMinutes } from '../../format';
import { JobSettingsFields, type JobDetail } from './documents';

export function JobSettingsSummary(props: { job: JobDetail }) {
  const s = () => readFragment(JobSettingsFields, props.job as unknown as FragmentOf<typeof JobSettingsFields>);
  const list = (items: readonly string[], empty: string) => (items.length ? items.join(', ') : empty);
  const schedule = () => {
    const sc = s().schedule;
    if (!sc) return 'None: pushes as soon as devices are available';
    const parts = [];
    if (sc.startAt) parts.push(`starts ${formatDateTime(sc.startAt)}`);
    if (sc.endAt) parts.push(`ends ${formatDateTime(sc.endAt)}`);
    if (sc.dailyWindowStart && sc.dailyWindowEnd) parts.push(`daily ${sc.dailyWindowStart}–${sc.dailyWindowEnd}`);
    parts.push(sc.timezone);
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
                    <strong>{edit.editedBy}</strong> <span class="muted">{formatDateTime(edit.editedAt)}</span>
                  </div>
                  <ul>
                    <For each={edit.changes}>
                      {(c) => (
                        <li>
                          <code>{c.field}</code>: {c.from ?? '—'} → {c.to ?? '—'}
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
