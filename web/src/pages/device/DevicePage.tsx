/**
 * A device: its key, product, version, online state, last seen and tags, and its upgrade history
 * across jobs (newest first: job, from/to version, pushed, progress, result, reason, detail,
 * duration), kept live by deviceUpdated. Deep-linkable as /devices/{productKey}/{deviceKey}; every
 * device key in the job tables and the Devices page leads here.
 */
import { A, useParams } from '@solidjs/router';
import { createQuery, createSubscription } from '@urql/solid';
import { createMemo, For, Match, Show, Switch } from 'solid-js';
import { readFragment } from '../../api/graphql';
import { problemOfError } from '../../api/outcome';
import { OnlineDot, TaskStatusBadge } from '../../components/Badges';
import { ProgressBar } from '../../components/ProgressBar';
import { Empty, Loading, ProblemView } from '../../components/States';
import type { UpgradeStatus } from '../../labels';
import { useSession } from '../../session';
import { useTimes } from '../../times';
import { DevicePageFields, DevicePageQuery, DevicePageSubscription } from './documents';

const HISTORY_SIZE = 100;

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function DevicePage() {
  const params = useParams<{ productKey: string; deviceKey: string }>();
  const session = useSession();
  const times = useTimes();
  const variables = () => ({
    productKey: decodeURIComponent(params.productKey),
    deviceKey: decodeURIComponent(params.deviceKey),
    withHistory: session.can('OTA_READ'),
    historySize: HISTORY_SIZE,
  });
  const [query, refetch] = createQuery({ query: DevicePageQuery, variables, requestPolicy: 'network-only' });
  const [live] = createSubscription({ query: DevicePageSubscription, variables });
  const device = createMemo(() => {
    const data = live.data?.deviceUpdated ?? query.data?.device;
    return data ? readFragment(DevicePageFields, data) : null;
  });
  return (
    <section class="page">
      <Switch>
        <Match when={query.error && !device()}>
          <ProblemView problem={problemOfError(query.error!)} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
        </Match>
        <Match when={query.data && !query.data.device && !live.data}>
          <Empty title="Device not found">
            No device “{variables().deviceKey}” of product “{variables().productKey}” exists in your organisation unit. <A href="/devices">Back to Devices</A>
          </Empty>
        </Match>
        <Match when={!device()}>
          <Loading label="Loading the device…" />
        </Match>
        <Match when={device()}>
          {(d) => (
            <>
              <header class="page-header">
                <div>
                  <div class="breadcrumb">
                    <A href="/devices">Devices</A> / {d().product.name}
                  </div>
                  <h1 data-testid="device-key" class="mono">
                    {d().deviceKey}
                  </h1>
                </div>
              </header>
              <div class="card facts device-facts" data-testid="device-facts">
                <Fact label="Product">
                  {d().product.name} <span class="muted mono">{d().product.productKey}</span>
                </Fact>
                <Fact label="Name">{d().name || '—'}</Fact>
                <Fact label="Current version">
                  <span class="mono" data-testid="device-version">
                    {d().firmwareVersion ?? 'unknown'}
                  </span>
                </Fact>
                <Fact label="State">
                  <span role="status" aria-live="polite" data-testid="device-online">
                    <OnlineDot online={d().online} />
                  </span>
                </Fact>
                <Fact label="Last seen">{times.format(d().lastSeenAt)}</Fact>
                <Fact label="Tags">
                  <For each={d().tags} fallback={<span class="muted">None</span>}>
                    {(t) => (
                      <span class="tag">
                        {t.key}={t.value}
                      </span>
                    )}
                  </For>
                </Fact>
              </div>
              <div class="card">
                <h2 class="card-title card-title-inset">Upgrade history</h2>
                <Show
                  when={d().upgradeHistory}
                  fallback={<div class="state-text card-pad">The upgrade history needs the OTA_READ permission (to read OTA jobs).</div>}
                >
                  {(history) => (
                    <Show when={history().nodes.length > 0} fallback={<Empty title="No upgrades yet">No job has targeted this device.</Empty>}>
                      <div class="table-scroll">
                        <table class="table" data-testid="device-history">
                          <thead>
                            <tr>
                              <th>Job</th>
                              <th>From → to</th>
                              <th>Attempt</th>
                              <th>Result</th>
                              <th class="col-progress">Progress</th>
                              <th>Reason and detail</th>
                              <th>Pushed</th>
                              <th>Ended</th>
                              <th class="num">Duration</th>
                            </tr>
                          </thead>
                          <tbody>
                            <For each={history().nodes}>
                              {(u) => (
                                <tr data-testid="history-row" data-job={u.jobName}>
                                  <td>
                                    <A href={`/jobs/${encodeURIComponent(u.job.id)}`} class="link-strong">
                                      {u.jobName}
                                    </A>
                                    <div class="sub">
                                      {u.jobType === 'VERIFICATION' ? 'Verification' : 'Upgrade'} · {u.firmwareName}
                                    </div>
                                  </td>
                                  <td class="mono nowrap">
                                    {u.fromVersion ?? '?'} → {u.toVersion}
                                  </td>
                                  <td class="num">{u.attempt}</td>
                                  <td>
                                    <TaskStatusBadge status={u.status as UpgradeStatus} />
                                  </td>
                                  <td class="col-progress">
                                    <ProgressBar
                                      value={u.status === 'SUCCEEDED' ? 100 : u.progress}
                                      tone={u.status === 'FAILED' ? 'danger' : u.status === 'SUCCEEDED' ? 'success' : 'default'}
                                      label={`${u.jobName} progress`}
                                      compact
                                    />
                                  </td>
                                  <td class="failure">
                                    <Show when={u.failureReasonText}>
                                      <div data-testid="history-reason">{u.failureReasonText}</div>
                                    </Show>
                                    <Show when={u.failureDetail}>
                                      <div class="sub">{u.failureDetail}</div>
                                    </Show>
                                    <Show when={!u.failureReasonText && !u.failureDetail}>—</Show>
                                  </td>
                                  <td class="nowrap">{times.format(u.pushedAt)}</td>
                                  <td class="nowrap">{times.format(u.finishedAt)}</td>
                                  <td class="num">{formatDuration(u.durationSeconds)}</td>
                                </tr>
                              )}
                            </For>
                          </tbody>
                        </table>
                      </div>
                      <Show when={history().pageInfo.hasNextPage}>
                        <div class="muted card-pad">Showing the {HISTORY_SIZE} most recent jobs.</div>
                      </Show>
                    </Show>
                  )}
                </Show>
              </div>
            </>
          )}
        </Match>
      </Switch>
    </section>
  );
}

function Fact(props: { label: string; children: import('solid-js').JSX.Element }) {
  return (
    <div class="fact">
      <div class="fact-label">{props.label}</div>
      <div class="fact-value">{props.children}</div>
    </div>
  );
}
