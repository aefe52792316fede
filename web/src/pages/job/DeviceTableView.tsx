/**
 * The device table itself (the view of the device table): one row per device of the page, with the
 * columns of its tab. A row that left the tab stays where it is, dimmed, saying where it went and
 * showing its current values. Device keys open the device's page (its history across jobs).
 */
import { A } from '@solidjs/router';
import { For, Match, Show, Switch } from 'solid-js';
import { TaskStatusBadge } from '../../components/Badges';
import { ProgressBar } from '../../components/ProgressBar';
import { FAILURE_REASON_LABELS, WAITING_REASON_LABELS, type FailureReason, type UpgradeStatus, type WaitingReason } from '../../labels';
import { useTimes } from '../../times';
import type { RowState } from './device-rows-state';
import type { Selection } from './DeviceActions';

/** "Attempt 1 of 2 failed (VERIFICATION_FAILED): desc" → "Attempt 1 of 2 failed: Firmware verification failed (desc)". */
export function previousFailureText(detail: string | null): string | null {
  if (!detail) return null;
  const m = /^Attempt (\d+) of (\d+) failed \(([A-Z_]+)\)(?::\s*(.*))?$/s.exec(detail);
  if (!m) return detail;
  const reason = FAILURE_REASON_LABELS[m[3] as FailureReason] ?? m[3];
  return `Attempt ${m[1]} of ${m[2]} failed: ${reason}${m[4] ? ` (${m[4]})` : ''}`;
}

export function deviceHref(productKey: string, deviceKey: string): string {
  return `/devices/${encodeURIComponent(productKey)}/${encodeURIComponent(deviceKey)}`;
}

export function DeviceTableView(props: {
  status: UpgradeStatus;
  productKey: string;
  keys: readonly string[];
  byKey: Record<string, RowState>;
  stale: boolean;
  selectable: boolean;
  selection: Selection;
}) {
  const times = useTimes();
  const selectableKeys = () => props.keys.filter((k) => !props.byKey[k].left);
  const allSelected = () => selectableKeys().length > 0 && selectableKeys().every((k) => props.selection.selected().has(k));
  return (
    <div class="table-scroll">
      <table class="table table-dense" classList={{ stale: props.stale }} data-testid="devices">
        <thead>
          <tr>
            <Show when={props.selectable}>
              <th class="col-check">
                <input
                  type="checkbox"
                  aria-label="Select all devices on this page"
                  checked={allSelected()}
                  onChange={(e) => props.selection.setSelected(e.currentTarget.checked ? new Set(selectableKeys()) : new Set<string>())}
                />
              </th>
            </Show>
            <th class="col-key">Device key</th>
            <th class="col-version">Current version</th>
            <th class="col-status">Status</th>
            <th class="col-progress">Progress</th>
            <Switch>
              <Match when={props.status === 'TO_BE_PUSHED'}>
                <th class="col-why">Why it waits</th>
              </Match>
              <Match when={props.status === 'FAILED'}>
                <th class="col-why">Failure reason</th>
                <th class="col-time">Failed at</th>
              </Match>
              <Match when={true}>
                <th class="col-time">Pushed at</th>
              </Match>
            </Switch>
            <th class="col-time">Updated</th>
          </tr>
        </thead>
        <tbody>
          <For each={props.keys}>
            {(key) => {
              const row = () => props.byKey[key];
              const previous = () => ((row().attempt ?? 1) > 1 && row().status === 'TO_BE_PUSHED' ? previousFailureText(row().failureDetail) : null);
              return (
                <tr
                  data-testid="device-row"
                  data-device-key={key}
                  classList={{ departed: !!row().left, arrived: !!row().arrived, selected: props.selection.selected().has(key) }}
                >
                  <Show when={props.selectable}>
                    <td class="col-check">
                      <input
                        type="checkbox"
                        aria-label={`Select ${key}`}
                        disabled={!!row().left}
                        checked={props.selection.selected().has(key)}
                        onChange={(e) => props.selection.toggle(key, e.currentTarget.checked)}
                      />
                    </td>
                  </Show>
                  <td class="mono">
                    <A href={deviceHref(props.productKey, key)} class="device-link" title={`${key}: device page and upgrade history`}>
                      {key}
                    </A>
                  </td>
                  <td class="mono">{row().currentVersion ?? '—'}</td>
                  <td class="col-status">
                    <Show when={row().left} fallback={<TaskStatusBadge status={row().status as UpgradeStatus} />}>
                      {(left) => (
                        <span class="left-note" data-testid="left-note">
                          {left().removed ? (
                            'Removed from the job'
                          ) : left().status ? (
                            <>
                              Now <TaskStatusBadge status={left().status as UpgradeStatus} />
                            </>
                          ) : (
                            'Left this tab'
                          )}
                        </span>
                      )}
                    </Show>
                  </td>
                  <td class="col-progress">
                    <ProgressBar
                      value={row().status === 'SUCCEEDED' ? 100 : row().progress}
                      tone={row().status === 'FAILED' ? 'danger' : row().status === 'SUCCEEDED' ? 'success' : 'default'}
                      label={`${key} progress`}
                      compact
                    />
                  </td>
                  <Switch>
                    <Match when={props.status === 'TO_BE_PUSHED'}>
                      <td class="failure-cell" title={row().failureDetail ?? undefined}>
                        <div>{row().waitingReason ? (WAITING_REASON_LABELS[row().waitingReason as WaitingReason] ?? row().waitingReason) : '—'}</div>
                        <Show when={previous()}>
                          <div class="sub previous-failure" data-testid="previous-failure">
                            {previous()}
                          </div>
                        </Show>
                      </td>
                    </Match>
                    <Match when={props.status === 'FAILED'}>
                      <td class="failure" title={row().failureDetail ?? undefined}>
                        <div data-testid="failure-reason">
                          {row().failureReasonText ?? (row().failureReason ? FAILURE_REASON_LABELS[row().failureReason as FailureReason] : '—')}
                        </div>
                        <Show when={row().failureDetail}>
                          <div class="sub">{row().failureDetail}</div>
                        </Show>
                      </td>
                      <td class="nowrap">{times.format(row().failedAt)}</td>
                    </Match>
                    <Match when={true}>
                      <td class="nowrap">{times.format(row().pushedAt)}</td>
                    </Match>
                  </Switch>
                  <td class="nowrap">{times.format(row().updatedAt)}</td>
                </tr>
              );
            }}
          </For>
        </tbody>
      </table>
    </div>
  );
}
