/**
 * The device table of one tab of the job details page: a page of the job's devices in device-key
 * order, kept live from jobDeviceUpdates (rules in live/device-rows.ts), with multi-select,
 * Cancel Upgrade (To be Pushed, Pushed) and Retry (Upgrade Failed).
 *
 * Race-free start: the page comes with the job's change cursor as of just before it was read, and
 * the subscription starts from that cursor, so every change the page may lack arrives (at least
 * once), and a row never goes back to an older state. After a dropped connection the subscription
 * resumes from the last cursor, so nothing is missed.
 */
import { createEffect, createMemo, createSignal, For, Match, on, onCleanup, Show, Switch, batch as solidBatch } from 'solid-js';
import { createStore, produce } from 'solid-js/store';
import { client, liveEpoch } from '../../api/client';
import { readFragment } from '../../api/graphql';
import { outcomeOf, problemOfError, type ApiProblem } from '../../api/outcome';
import { TaskStatusBadge } from '../../components/Badges';
import { ConfirmDialog } from '../../components/Dialog';
import { Pager } from '../../components/Pager';
import { ProgressBar } from '../../components/ProgressBar';
import { Banner, Empty, Loading, ProblemDetails, ProblemView } from '../../components/States';
import { formatCount, formatDateTime } from '../../format';
import { FAILURE_REASON_LABELS, STATUS_LABELS, WAITING_REASON_LABELS, type FailureReason, type UpgradeStatus } from '../../labels';
import { mergeKeys, planBatch, type DeviceRow, type DeviceView, type PageBounds } from '../../live/device-rows';
import { subscribeLive } from '../../live/subscribe';
import { CancelUpgradeMutation, JobDeviceRow, JobDevicesQuery, JobDeviceUpdatesSubscription, RetryUpgradeMutation } from './documents';

interface RowState extends DeviceRow {
  /** Set when the device left this view after the page was read. */
  left?: { status: string | null; removed: boolean };
  /** Arrived live after the page was read (highlighted briefly). */
  arrived?: boolean;
}

export interface PagingVariables {
  first: number | null;
  after: string | null;
  last: number | null;
  before: string | null;
}

export interface PagerControls {
  from: number;
  onFirst: () => void;
  onPrevious: (startCursor: string | null) => void;
  onNext: (endCursor: string | null, shown: number) => void;
}

/** How many rows live inserts may add to a page beyond its size before they are only counted. */
const INSERT_ROOM = 200;

export function DeviceTable(props: {
  jobId: string;
  view: DeviceView;
  paging: PagingVariables;
  pageSize: number;
  pager: PagerControls;
  canControl: boolean;
  /** The view has searches beyond the tab (so the tab's live count is not the view's count). */
  filtered: boolean;
  tabCount: number;
}) {
  const [rows, setRows] = createStore<{ keys: string[]; byKey: Record<string, RowState> }>({ keys: [], byKey: {} });
  const [pageInfo, setPageInfo] = createSignal({
    hasNextPage: false,
    hasPreviousPage: false,
    startCursor: null as string | null,
    endCursor: null as string | null,
  });
  const [total, setTotal] = createSignal(0);
  const [loaded, setLoaded] = createSignal(false);
  const [problem, setProblem] = createSignal<ApiProblem | null>(null);
  const [liveProblem, setLiveProblem] = createSignal<string | null>(null);
  const [outside, setOutside] = createSignal(0);
  const [selected, setSelected] = createSignal<ReadonlySet<string>>(new Set());
  const [message, setMessage] = createSignal<{ kind: 'success' | 'error' | 'warning'; text: string; problem?: ApiProblem; lines?: string[] } | null>(null);

  /** Non-reactive mirror of the page for O(1) lookups when a batch arrives. */
  let page = new Map<string, DeviceRow>();
  let generation = 0;
  let cursor: string | null = null;
  let stopLive: (() => void) | undefined;
  onCleanup(() => stopLive?.());

  type BatchData = { cursor: string; devices: DeviceRow[]; otherDeviceKeys: string[]; removedDeviceKeys: string[] };

  const bounds = (): PageBounds => {
    const keys = rows.keys;
    const info = pageInfo();
    return {
      firstKey: keys[0] ?? null,
      lastKey: keys[keys.length - 1] ?? null,
      hasPrevious: info.hasPreviousPage || props.pager.from > 1,
      hasNext: info.hasNextPage,
    };
  };

  const applyBatch = (batch: BatchData) => {
    const plan = planBatch(page, bounds(), props.view, batch, Math.max(0, props.pageSize + INSERT_ROOM - rows.keys.length));
    if (plan.updates.length + plan.departures.size + plan.inserts.length + plan.outside === 0) return;
    solidBatch(() => {
      for (const row of plan.updates) {
        page.set(row.deviceKey, row);
        setRows('byKey', row.deviceKey, { ...row, left: undefined });
      }
      for (const [key, departure] of plan.departures) {
        if (departure.row) page.set(key, departure.row);
        // A key-only note ("changed, no longer in this view") must not erase a destination already
        // known: the operator's own cancel is applied from the mutation's answer, and the live echo of
        // that same change may arrive after it.
        const known = rows.byKey[key]?.left;
        const keyOnly = departure.status === null && !departure.removed && !departure.row;
        const left = keyOnly && known?.status ? known : { status: departure.status, removed: departure.removed };
        setRows('byKey', key, { ...(departure.row ?? {}), left });
      }
      if (plan.departures.size > 0) {
        setSelected((current) => {
          const next = new Set(current);
          for (const key of plan.departures.keys()) next.delete(key);
          return next;
        });
      }
      if (plan.inserts.length > 0) {
        setRows(
          produce((state) => {
            for (const row of plan.inserts) {
              page.set(row.deviceKey, row);
              state.byKey[row.deviceKey] = { ...row, arrived: true };
            }
            state.keys = mergeKeys(
              state.keys,
              plan.inserts.map((r) => r.deviceKey),
            );
          }),
        );
        scheduleArrivedClear();
      }
      if (plan.outside > 0) setOutside((n) => n + plan.outside);
    });
  };

  /** Rows that arrived live are highlighted until the next quiet moment (one timer for all of them). */
  let arrivedTimer: ReturnType<typeof setTimeout> | undefined;
  const scheduleArrivedClear = () => {
    clearTimeout(arrivedTimer);
    arrivedTimer = setTimeout(() => {
      setRows(
        produce((state) => {
          for (const key of state.keys) if (state.byKey[key].arrived) state.byKey[key].arrived = false;
        }),
      );
    }, 2000);
  };
  onCleanup(() => clearTimeout(arrivedTimer));

  const startLive = (gen: number, after: string | null) => {
    stopLive?.();
    stopLive = subscribeLive(
      JobDeviceUpdatesSubscription,
      { jobId: props.jobId, status: props.view.status as UpgradeStatus, failureReason: (props.view.failureReason as FailureReason | undefined) ?? null, after },
      {
        next: (data) => {
          if (gen !== generation) return;
          const update = data.jobDeviceUpdates;
          const batch: BatchData = {
            cursor: update.cursor,
            devices: update.devices.map((d) => readFragment(JobDeviceRow, d) as DeviceRow),
            otherDeviceKeys: update.otherDeviceKeys as string[],
            removedDeviceKeys: update.removedDeviceKeys as string[],
          };
          cursor = batch.cursor;
          setLiveProblem(null);
          applyBatch(batch);
        },
        error: (text) => gen === generation && setLiveProblem(text),
      },
    );
  };

  /** `fresh`: another view or page, so the old rows go at once; otherwise they stay (dimmed) until the new read. */
  const load = async (fresh = false) => {
    const gen = ++generation;
    stopLive?.();
    cursor = null;
    setLoaded(false);
    if (fresh) {
      page = new Map();
      setRows({ keys: [], byKey: {} });
    }
    setProblem(null);
    const view = props.view;
    const result = await client
      .query(
        JobDevicesQuery,
        {
          id: props.jobId,
          status: view.status as UpgradeStatus,
          deviceKey: view.deviceKey ?? null,
          currentVersion: view.currentVersion ?? null,
          failureReason: (view.failureReason as FailureReason | undefined) ?? null,
          failedAfter: view.failedAfter ?? null,
          failedBefore: view.failedBefore ?? null,
          ...props.paging,
        },
        { requestPolicy: 'network-only' },
      )
      .toPromise();
    if (gen !== generation) return;
    const connection = result.data?.job?.devices;
    if (result.error || !connection) {
      setProblem(result.error ? problemOfError(result.error) : { message: 'This job no longer exists.', code: 'NOT_FOUND', details: [] });
      setLoaded(true);
      return;
    }
    const list = connection.nodes.map((n) => readFragment(JobDeviceRow, n) as DeviceRow);
    page = new Map(list.map((row) => [row.deviceKey, row]));
    solidBatch(() => {
      setRows({ keys: list.map((r) => r.deviceKey), byKey: Object.fromEntries(list.map((r) => [r.deviceKey, r])) });
      setPageInfo({ ...connection.pageInfo, startCursor: connection.pageInfo.startCursor ?? null, endCursor: connection.pageInfo.endCursor ?? null });
      setTotal(connection.totalCount);
      setOutside(0);
      setLoaded(true);
    });
    cursor = connection.changeCursor;
    startLive(gen, cursor);
  };

  // A new tab, search or page: read again and subscribe afresh. Selection is per view. The key is a
  // memo so that only a real change re-reads (the job's live updates re-run its inputs constantly).
  const viewKey = createMemo(() => JSON.stringify([props.jobId, props.view, props.paging]));
  createEffect(
    on(viewKey, () => {
      setSelected(new Set<string>());
      setMessage(null);
      void load(true);
    }),
  );
  // The connection came back: resume from the last batch (or read again if none had arrived).
  createEffect(
    on(
      liveEpoch,
      () => {
        if (cursor) startLive(generation, cursor);
        else void load();
      },
      { defer: true },
    ),
  );

  const selectable = createMemo(() => props.canControl && ['TO_BE_PUSHED', 'PUSHED', 'FAILED'].includes(props.view.status));
  const selectableKeys = () => rows.keys.filter((k) => !rows.byKey[k].left);
  const allSelected = () => selectableKeys().length > 0 && selectableKeys().every((k) => selected().has(k));
  const toggle = (key: string, on: boolean) =>
    setSelected((current) => {
      const next = new Set(current);
      if (on) next.add(key);
      else next.delete(key);
      return next;
    });
  const departedCount = () => rows.keys.filter((k) => rows.byKey[k].left).length;

  // ── actions ──────────────────────────────────────────────────────────────────────────────
  const [confirming, setConfirming] = createSignal<'cancel' | 'retry' | 'retry-all' | null>(null);
  const [busy, setBusy] = createSignal(false);

  const cancelSelected = async () => {
    const deviceKeys = [...selected()];
    setBusy(true);
    const result = await client.mutation(CancelUpgradeMutation, { input: { jobId: props.jobId, deviceKeys } }).toPromise();
    setBusy(false);
    setConfirming(null);
    const outcome = outcomeOf(result.error, result.data?.cancelUpgrade);
    if (!outcome.ok) return setMessage({ kind: 'error', text: outcome.problem.message, problem: outcome.problem });
    const cancelled = outcome.data.cancelled.map((d) => readFragment(JobDeviceRow, d) as DeviceRow);
    applyBatch({ cursor: cursor ?? '', devices: cancelled, otherDeviceKeys: [], removedDeviceKeys: [] });
    setSelected(new Set<string>());
    const notCancelled = outcome.data.notCancelled;
    setMessage({
      kind: notCancelled.length ? 'warning' : 'success',
      text:
        `${formatCount(cancelled.length)} ${cancelled.length === 1 ? 'device' : 'devices'} cancelled: now in Upgrade Failed as “Cancelled by user”.` +
        (notCancelled.length ? ` ${formatCount(notCancelled.length)} not cancelled:` : ''),
      lines: notCancelled.map((n) => `${n.deviceKey}: ${n.message}`),
    });
  };

  const retry = async (all: boolean) => {
    setBusy(true);
    const input = all
      ? { jobId: props.jobId, failureReason: (props.view.failureReason as FailureReason | undefined) ?? null }
      : { jobId: props.jobId, deviceKeys: [...selected()] };
    const result = await client.mutation(RetryUpgradeMutation, { input }).toPromise();
    setBusy(false);
    setConfirming(null);
    const outcome = outcomeOf(result.error, result.data?.retryUpgrade);
    if (!outcome.ok) return setMessage({ kind: 'error', text: outcome.problem.message, problem: outcome.problem });
    setSelected(new Set<string>());
    const notRetried = outcome.data.notRetried;
    setMessage({
      kind: notRetried.length ? 'warning' : 'success',
      text:
        `${formatCount(outcome.data.retriedCount)} ${outcome.data.retriedCount === 1 ? 'device goes' : 'devices go'} back to To be Pushed for a new attempt.` +
        (notRetried.length ? ` ${formatCount(notRetried.length)} not retried:` : ''),
      lines: notRetried.map((n) => `${n.deviceKey}: ${n.message}`),
    });
  };

  const viewTotal = () => (props.filtered ? total() : props.tabCount);
  const status = () => props.view.status as UpgradeStatus;

  return (
    <div class="device-table" data-testid="device-table" data-status={props.view.status}>
      <Show when={selectable() || departedCount() > 0 || outside() > 0 || liveProblem()}>
        <div class="table-actions">
          <Show when={selectable()}>
            <span class="selection-count" data-testid="selection-count">
              {formatCount(selected().size)} selected
            </span>
            <Show when={status() === 'TO_BE_PUSHED' || status() === 'PUSHED'}>
              <button type="button" class="btn btn-danger" disabled={selected().size === 0} onClick={() => setConfirming('cancel')}>
                Cancel Upgrade
              </button>
            </Show>
            <Show when={status() === 'FAILED'}>
              <button type="button" class="btn" disabled={selected().size === 0} onClick={() => setConfirming('retry')}>
                Retry Upgrade
              </button>
              <button type="button" class="btn" disabled={viewTotal() === 0} onClick={() => setConfirming('retry-all')}>
                Retry all failed{props.view.failureReason ? ` (${FAILURE_REASON_LABELS[props.view.failureReason as FailureReason]})` : ''}
              </button>
            </Show>
          </Show>
          <span class="spacer" />
          <Show when={departedCount() > 0 || outside() > 0}>
            <span class="live-note" data-testid="live-note">
              <Show when={departedCount() > 0}>{formatCount(departedCount())} left this tab. </Show>
              <Show when={outside() > 0}>{formatCount(outside())} more arrived on other pages. </Show>
              <button type="button" class="link-btn" onClick={() => void load()}>
                Show current
              </button>
            </span>
          </Show>
          <Show when={liveProblem()}>
            <span class="live-note warning">Live updates unavailable: {liveProblem()}</span>
          </Show>
        </div>
      </Show>

      <Show when={message()}>
        {(m) => (
          <Banner kind={m().kind} onClose={() => setMessage(null)}>
            <div data-testid="action-message">{m().text}</div>
            <Show when={m().problem}>{(p) => <ProblemDetails problem={p()} />}</Show>
            <Show when={m().lines?.length}>
              <ul class="problem-details">
                <For each={m().lines!.slice(0, 20)}>{(line) => <li>{line}</li>}</For>
              </ul>
            </Show>
          </Banner>
        )}
      </Show>

      <Switch>
        <Match when={problem()}>{(p) => <ProblemView problem={p()} onRetry={() => void load()} />}</Match>
        <Match when={!loaded() && rows.keys.length === 0}>
          <Loading label="Loading devices…" />
        </Match>
        <Match when={loaded() && rows.keys.length === 0}>
          <Empty title={`No devices in ${STATUS_LABELS[status()]}`}>
            {props.filtered ? 'No device matches the search. Change or clear it.' : 'Devices appear here live as the job moves them.'}
          </Empty>
        </Match>
        <Match when={rows.keys.length > 0}>
          <table class="table table-dense" classList={{ stale: !loaded() }} data-testid="devices">
            <thead>
              <tr>
                <Show when={selectable()}>
                  <th class="col-check">
                    <input
                      type="checkbox"
                      aria-label="Select all devices on this page"
                      checked={allSelected()}
                      onChange={(e) => setSelected(e.currentTarget.checked ? new Set(selectableKeys()) : new Set<string>())}
                    />
                  </th>
                </Show>
                <th class="col-key">Device key</th>
                <th class="col-version">Current version</th>
                <th class="col-status">Status</th>
                <th class="col-progress">Progress</th>
                <Switch>
                  <Match when={status() === 'TO_BE_PUSHED'}>
                    <th>Why it waits</th>
                  </Match>
                  <Match when={status() === 'FAILED'}>
                    <th>Failure reason</th>
                    <th class="col-time">Failed at</th>
                  </Match>
                  <Match when={true}>
                    <th>Pushed at</th>
                  </Match>
                </Switch>
                <th class="col-time">Updated</th>
              </tr>
            </thead>
            <tbody>
              <For each={rows.keys}>
                {(key) => {
                  const row = () => rows.byKey[key];
                  return (
                    <tr
                      data-testid="device-row"
                      data-device-key={key}
                      classList={{ departed: !!row().left, arrived: !!row().arrived, selected: selected().has(key) }}
                    >
                      <Show when={selectable()}>
                        <td class="col-check">
                          <input
                            type="checkbox"
                            aria-label={`Select ${key}`}
                            disabled={!!row().left}
                            checked={selected().has(key)}
                            onChange={(e) => toggle(key, e.currentTarget.checked)}
                          />
                        </td>
                      </Show>
                      <td class="mono">{key}</td>
                      <td class="mono">{row().currentVersion ?? '—'}</td>
                      <td>
                        <Show when={row().left} fallback={<TaskStatusBadge status={row().status as UpgradeStatus} />}>
                          {(left) => (
                            <span class="left-note" data-testid="left-note">
                              {left().removed
                                ? 'Removed from the job'
                                : left().status
                                  ? `Now ${STATUS_LABELS[left().status as UpgradeStatus]}`
                                  : 'Left this tab'}
                            </span>
                          )}
                        </Show>
                      </td>
                      <td class="col-progress">
                        <ProgressBar
                          value={row().status === 'SUCCEEDED' ? 100 : row().progress}
                          tone={row().status === 'FAILED' ? 'danger' : row().status === 'SUCCEEDED' ? 'success' : 'default'}
                          compact
                        />
                      </td>
                      <Switch>
                        <Match when={status() === 'TO_BE_PUSHED'}>
                          <td>
                            {row().waitingReason
                              ? (WAITING_REASON_LABELS[row().waitingReason as keyof typeof WAITING_REASON_LABELS] ?? row().waitingReason)
                              : '—'}
                          </td>
                        </Match>
                        <Match when={status() === 'FAILED'}>
                          <td class="failure" title={row().failureDetail ?? undefined}>
                            <div data-testid="failure-reason">
                              {row().failureReasonText ?? (row().failureReason ? FAILURE_REASON_LABELS[row().failureReason as FailureReason] : '—')}
                            </div>
                            <Show when={row().failureDetail}>
                              <div class="sub">{row().failureDetail}</div>
                            </Show>
                          </td>
                          <td class="nowrap">{formatDateTime(row().failedAt)}</td>
                        </Match>
                        <Match when={true}>
                          <td class="nowrap">{formatDateTime(row().pushedAt)}</td>
                        </Match>
                      </Switch>
                      <td class="nowrap">{formatDateTime(row().updatedAt)}</td>
                    </tr>
                  );
                }}
              </For>
            </tbody>
          </table>
          <Pager
            from={props.pager.from}
            shown={rows.keys.length}
            total={viewTotal()}
            hasPrevious={pageInfo().hasPreviousPage || props.pager.from > 1}
            hasNext={pageInfo().hasNextPage}
            onFirst={props.pager.onFirst}
            onPrevious={() => props.pager.onPrevious(pageInfo().startCursor)}
            onNext={() => props.pager.onNext(pageInfo().endCursor, rows.keys.length)}
          />
        </Match>
      </Switch>

      <ConfirmDialog
        open={confirming() === 'cancel'}
        title="Cancel Upgrade"
        confirmLabel={`Cancel upgrade of ${formatCount(selected().size)} ${selected().size === 1 ? 'device' : 'devices'}`}
        danger
        busy={busy()}
        onConfirm={() => void cancelSelected()}
        onClose={() => setConfirming(null)}
      >
        <p>
          The selected devices will not be upgraded by this job. They move to <strong>Upgrade Failed</strong> with the reason <strong>Cancelled by user</strong>
          ; a device already pushed is sent a cancel command.
        </p>
        <p class="muted">
          {[...selected()].slice(0, 8).join(', ')}
          {selected().size > 8 ? `, and ${formatCount(selected().size - 8)} more` : ''}
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirming() === 'retry' || confirming() === 'retry-all'}
        title="Retry Upgrade"
        confirmLabel="Retry"
        busy={busy()}
        onConfirm={() => void retry(confirming() === 'retry-all')}
        onClose={() => setConfirming(null)}
      >
        <p>
          <Show
            when={confirming() === 'retry-all'}
            fallback={`${formatCount(selected().size)} selected ${selected().size === 1 ? 'device goes' : 'devices go'} back to To be Pushed and will be upgraded again.`}
          >
            Every failed device of this job
            {props.view.failureReason ? ` with the reason “${FAILURE_REASON_LABELS[props.view.failureReason as FailureReason]}”` : ''} goes back to To be Pushed
            and will be upgraded again.
          </Show>
        </p>
      </ConfirmDialog>
    </div>
  );
}
