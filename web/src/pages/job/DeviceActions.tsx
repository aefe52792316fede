/**
 * What the operator can do with the devices of a tab: select them, Cancel Upgrade (To be Pushed,
 * Pushed) and Retry Upgrade (Upgrade Failed), of the selected devices or of every device the
 * search shows.
 *
 * The dialogs follow the rows live: a selected device that leaves the tab while a dialog is open is
 * dropped from the action, with a note saying where it went, and an action left with no device
 * cannot be sent.
 */
import { createEffect, createMemo, createSignal, For, on, Show } from 'solid-js';
import { client } from '../../api/client';
import { readFragment } from '../../api/graphql';
import { outcomeOf, type ApiProblem } from '../../api/outcome';
import { ConfirmDialog } from '../../components/Dialog';
import { Banner, ProblemDetails } from '../../components/States';
import { formatCount } from '../../format';
import { FAILURE_REASON_LABELS, STATUS_LABELS, type FailureReason, type UpgradeStatus } from '../../labels';
import type { DeviceRow, DeviceView } from '../../live/device-rows';
import type { DeviceRows } from './device-rows-state';
import { CancelUpgradeMutation, JobDeviceRow, RetryUpgradeMutation } from './documents';

const devices = (n: number) => `${formatCount(n)} ${n === 1 ? 'device' : 'devices'}`;

function whereTo(status: string | null): string {
  if (status === 'REMOVED') return 'was removed from the job';
  return status ? `is now ${STATUS_LABELS[status as UpgradeStatus] ?? status}` : 'left this tab';
}

export interface ActionMessage {
  kind: 'success' | 'error' | 'warning';
  text: string;
  problem?: ApiProblem;
  lines?: string[];
}

/** The selection of a view: live updates never clear it, but a device that leaves the view leaves it. */
export function createSelection(rows: DeviceRows) {
  const [selected, setSelected] = createSignal<ReadonlySet<string>>(new Set());
  /** Devices dropped from the selection since the open dialog opened, with where they went. */
  const [dropped, setDropped] = createSignal<{ key: string; to: string | null }[]>([]);
  createEffect(
    on(rows.departures, (departures) => {
      const gone = [...selected()].filter((key) => departures.has(key));
      if (gone.length === 0) return;
      setSelected((current) => new Set([...current].filter((key) => !departures.has(key))));
      setDropped((list) => [...list, ...gone.map((key) => ({ key, to: departures.get(key) ?? null }))]);
    }),
  );
  // Another view or page: the selection was of the old one.
  createEffect(on(rows.viewKey, () => setSelected(new Set<string>()), { defer: true }));
  const toggle = (key: string, on: boolean) =>
    setSelected((current) => {
      const next = new Set(current);
      if (on) next.add(key);
      else next.delete(key);
      return next;
    });
  return { selected, setSelected, toggle, dropped, clearDropped: () => setDropped([]) };
}
export type Selection = ReturnType<typeof createSelection>;

export function DeviceActions(props: {
  jobId: string;
  view: DeviceView;
  rows: DeviceRows;
  selection: Selection;
  canControl: boolean;
  /** Devices the view shows across all its pages. */
  viewCount: number;
  /** The view has searches the retry-all cannot express yet (key, version, time). */
  searchedBeyondReason: boolean;
  onMessage: (message: ActionMessage | null) => void;
}) {
  const [confirming, setConfirming] = createSignal<'cancel' | 'retry' | 'retry-all' | null>(null);
  const [busy, setBusy] = createSignal(false);
  const status = () => props.view.status as UpgradeStatus;
  const selectedNow = createMemo(() => [...props.selection.selected()]);
  const open = (which: 'cancel' | 'retry' | 'retry-all') => {
    props.selection.clearDropped();
    setConfirming(which);
  };

  const cancelSelected = async () => {
    const deviceKeys = selectedNow();
    if (deviceKeys.length === 0) return;
    setBusy(true);
    const result = await client.mutation(CancelUpgradeMutation, { input: { jobId: props.jobId, deviceKeys } }).toPromise();
    setBusy(false);
    setConfirming(null);
    const outcome = outcomeOf(result.error, result.data?.cancelUpgrade);
    if (!outcome.ok) return props.onMessage({ kind: 'error', text: outcome.problem.message, problem: outcome.problem });
    const cancelled = outcome.data.cancelled.map((d) => readFragment(JobDeviceRow, d) as DeviceRow);
    props.rows.applyBatch({ cursor: props.rows.cursor() ?? '', devices: cancelled, otherDeviceKeys: [], removedDeviceKeys: [] });
    props.selection.setSelected(new Set<string>());
    const notCancelled = outcome.data.notCancelled;
    props.onMessage({
      kind: notCancelled.length ? 'warning' : 'success',
      text:
        `${devices(cancelled.length)} cancelled: now in Upgrade Failed as “Cancelled by user”.` +
        (notCancelled.length ? ` ${formatCount(notCancelled.length)} not cancelled:` : ''),
      lines: notCancelled.map((n) => `${n.deviceKey}: ${n.message}`),
    });
  };

  const retry = async (all: boolean) => {
    const deviceKeys = selectedNow();
    if (!all && deviceKeys.length === 0) return;
    setBusy(true);
    const input = all
      ? { jobId: props.jobId, failureReason: (props.view.failureReason as FailureReason | undefined) ?? null }
      : { jobId: props.jobId, deviceKeys };
    const result = await client.mutation(RetryUpgradeMutation, { input }).toPromise();
    setBusy(false);
    setConfirming(null);
    const outcome = outcomeOf(result.error, result.data?.retryUpgrade);
    if (!outcome.ok) return props.onMessage({ kind: 'error', text: outcome.problem.message, problem: outcome.problem });
    props.selection.setSelected(new Set<string>());
    const notRetried = outcome.data.notRetried;
    props.onMessage({
      kind: notRetried.length ? 'warning' : 'success',
      text:
        `${devices(outcome.data.retriedCount)} ${outcome.data.retriedCount === 1 ? 'goes' : 'go'} back to To be Pushed for a new attempt.` +
        (notRetried.length ? ` ${formatCount(notRetried.length)} not retried:` : ''),
      lines: notRetried.map((n) => `${n.deviceKey}: ${n.message}`),
    });
  };

  const reasonLabel = () => (props.view.failureReason ? FAILURE_REASON_LABELS[props.view.failureReason as FailureReason] : null);
  const droppedNote = () => (
    <Show when={props.selection.dropped().length > 0}>
      <div class="dialog-note" role="status" aria-live="polite" data-testid="dropped-note">
        <For each={props.selection.dropped().slice(0, 8)}>
          {(d) => (
            <div>
              <span class="mono">{d.key}</span> {whereTo(d.to)} and was dropped from this action.
            </div>
          )}
        </For>
        <Show when={props.selection.dropped().length > 8}>
          <div>… and {formatCount(props.selection.dropped().length - 8)} more.</div>
        </Show>
      </div>
    </Show>
  );
  const keyList = () => (
    <p class="muted mono-list">
      {selectedNow().slice(0, 8).join(', ')}
      {selectedNow().length > 8 ? `, and ${formatCount(selectedNow().length - 8)} more` : ''}
    </p>
  );

  return (
    <>
      <span class="selection-count" data-testid="selection-count" aria-live="polite">
        {formatCount(props.selection.selected().size)} selected
      </span>
      <Show when={status() === 'TO_BE_PUSHED' || status() === 'PUSHED'}>
        <button type="button" class="btn btn-danger" disabled={props.selection.selected().size === 0} onClick={() => open('cancel')}>
          Cancel Upgrade
        </button>
      </Show>
      <Show when={status() === 'FAILED'}>
        <button type="button" class="btn" disabled={props.selection.selected().size === 0} onClick={() => open('retry')}>
          Retry Upgrade
        </button>
        <button
          type="button"
          class="btn"
          data-testid="retry-all"
          disabled={props.viewCount === 0 || props.searchedBeyondReason}
          title={props.searchedBeyondReason ? 'Retrying every device of a key, version or time search: select them instead' : undefined}
          onClick={() => open('retry-all')}
        >
          Retry all failed{reasonLabel() ? ` (${reasonLabel()})` : ''}
        </button>
      </Show>

      <ConfirmDialog
        open={confirming() === 'cancel'}
        title="Cancel Upgrade"
        confirmLabel={selectedNow().length ? `Cancel upgrade of ${devices(selectedNow().length)}` : 'Nothing left to cancel'}
        danger
        busy={busy()}
        disabled={selectedNow().length === 0}
        onConfirm={() => void cancelSelected()}
        onClose={() => setConfirming(null)}
      >
        <p>
          The selected devices will not be upgraded by this job. They move to <strong>Upgrade Failed</strong> with the reason <strong>Cancelled by user</strong>
          ; a device already pushed is sent a cancel command.
        </p>
        <Show
          when={selectedNow().length > 0}
          fallback={<p data-testid="nothing-left">Every selected device has left this tab: there is nothing left to cancel.</p>}
        >
          {keyList()}
        </Show>
        {droppedNote()}
      </ConfirmDialog>
      <ConfirmDialog
        open={confirming() === 'retry' || confirming() === 'retry-all'}
        title="Retry Upgrade"
        confirmLabel={
          confirming() === 'retry-all'
            ? `Retry ${devices(props.viewCount)}`
            : selectedNow().length
              ? `Retry ${devices(selectedNow().length)}`
              : 'Nothing left to retry'
        }
        busy={busy()}
        disabled={confirming() === 'retry' ? selectedNow().length === 0 : props.viewCount === 0}
        onConfirm={() => void retry(confirming() === 'retry-all')}
        onClose={() => setConfirming(null)}
      >
        <Show
          when={confirming() === 'retry-all'}
          fallback={
            <>
              <p>The selected devices go back to To be Pushed and will be upgraded again.</p>
              {keyList()}
              {droppedNote()}
            </>
          }
        >
          <p>
            Every failed device of this job{reasonLabel() ? ` with the reason “${reasonLabel()}”` : ''} ({devices(props.viewCount)} now) goes back to To be
            Pushed and will be upgraded again.
          </p>
        </Show>
      </ConfirmDialog>
    </>
  );
}

/** The result of the last action, above the table. */
export function ActionMessageBanner(props: { message: ActionMessage | null; onClose: () => void }) {
  return (
    <Show when={props.message}>
      {(m) => (
        <Banner kind={m().kind} onClose={props.onClose}>
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
  );
}
