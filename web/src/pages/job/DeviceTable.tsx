/**
 * The device table of one tab of the job details page: a page of the job's devices in device-key
 * order, kept live from jobDeviceUpdates. Three parts: the row state (device-rows-state.ts), the
 * actions (DeviceActions.tsx: selection, Cancel Upgrade, Retry) and the view (DeviceTableView.tsx).
 */
import { createEffect, createSignal, Match, on, Show, Switch } from 'solid-js';
import { Pager } from '../../components/Pager';
import { Empty, Loading, ProblemView } from '../../components/States';
import { formatCount } from '../../format';
import { STATUS_LABELS, type UpgradeStatus } from '../../labels';
import type { DeviceView } from '../../live/device-rows';
import { ActionMessageBanner, createSelection, DeviceActions, type ActionMessage } from './DeviceActions';
import { jobExportHref } from '../../url';
import { createDeviceRows, type PagingVariables } from './device-rows-state';
import { DeviceTableView } from './DeviceTableView';

export type { PagingVariables };

export interface PagerControls {
  from: number;
  onFirst: () => void;
  onPrevious: (startCursor: string | null) => void;
  onNext: (endCursor: string | null, shown: number) => void;
}

export function DeviceTable(props: {
  jobId: string;
  productKey: string;
  view: DeviceView;
  paging: PagingVariables;
  pageSize: number;
  pager: PagerControls;
  canControl: boolean;
  /** The view has searches beyond the tab (so the tab's live count is not the view's count). */
  filtered: boolean;
  tabCount: number;
  /** An explanation for an empty result (e.g. how the version search matches). */
  emptyHint?: string;
}) {
  const rows = createDeviceRows({
    get jobId() {
      return props.jobId;
    },
    get view() {
      return props.view;
    },
    get paging() {
      return props.paging;
    },
    get pageSize() {
      return props.pageSize;
    },
    get pagerFrom() {
      return props.pager.from;
    },
  });
  const selection = createSelection(rows);
  const [message, setMessage] = createSignal<ActionMessage | null>(null);
  createEffect(on(rows.viewKey, () => setMessage(null), { defer: true }));

  const status = () => props.view.status as UpgradeStatus;
  const selectable = () => props.canControl && ['TO_BE_PUSHED', 'PUSHED', 'FAILED'].includes(status());
  const shown = () => rows.inViewKeys().length;
  /** The view's count, never less than the rows on screen that still belong to it ("1–2 of 0"). */
  const viewTotal = () => Math.max(props.filtered ? rows.total() : props.tabCount, props.pager.from - 1 + shown());
  const searchedBeyondReason = () => !!(props.view.deviceKey || props.view.currentVersion || props.view.failedAfter || props.view.failedBefore);

  return (
    <div class="device-table" data-testid="device-table" data-status={props.view.status}>
      <div class="table-actions">
        <Show when={selectable()}>
          <DeviceActions
            jobId={props.jobId}
            view={props.view}
            rows={rows}
            selection={selection}
            canControl={props.canControl}
            viewCount={viewTotal()}
            searchedBeyondReason={searchedBeyondReason()}
            onMessage={setMessage}
          />
        </Show>
        <span class="spacer" />
        <span class="live-note" data-testid="live-note" role="status" aria-live="polite" classList={{ hidden: rows.departedCount() + rows.outside() === 0 }}>
          <Show when={rows.departedCount() > 0}>{formatCount(rows.departedCount())} left this tab (shown dimmed, with where they went). </Show>
          <Show when={rows.outside() > 0}>{formatCount(rows.outside())} more arrived on other pages. </Show>
          <Show when={rows.departedCount() + rows.outside() > 0}>
            <button type="button" class="link-btn" onClick={() => void rows.load()}>
              Show current
            </button>
          </Show>
        </span>
        <Show when={rows.liveProblem()}>
          <span class="live-note warning">Live updates unavailable: {rows.liveProblem()}</span>
        </Show>
        <a
          class="btn btn-small"
          href={jobExportHref(props.jobId, props.view)}
          download=""
          data-testid="export-tab"
          title={`Every device of ${STATUS_LABELS[status()]}${props.filtered ? ' that matches the search' : ''}, not only this page`}
        >
          Export CSV
        </a>
      </div>

      <ActionMessageBanner message={message()} onClose={() => setMessage(null)} />

      <Switch>
        <Match when={rows.problem()}>{(p) => <ProblemView problem={p()} onRetry={() => void rows.load()} />}</Match>
        <Match when={!rows.loaded() && rows.rows.keys.length === 0}>
          <Loading label="Loading devices…" />
        </Match>
        <Match when={rows.loaded() && rows.rows.keys.length === 0}>
          <Empty title={`No devices in ${STATUS_LABELS[status()]}`}>
            {props.filtered ? (props.emptyHint ?? 'No device matches the search. Change or clear it.') : 'Devices appear here live as the job moves them.'}
          </Empty>
        </Match>
        <Match when={rows.rows.keys.length > 0}>
          <DeviceTableView
            status={status()}
            productKey={props.productKey}
            keys={rows.rows.keys}
            byKey={rows.rows.byKey}
            stale={!rows.loaded()}
            selectable={selectable()}
            selection={selection}
          />
          <Pager
            from={props.pager.from}
            shown={shown()}
            total={viewTotal()}
            hasPrevious={rows.pageInfo().hasPreviousPage || props.pager.from > 1}
            hasNext={rows.pageInfo().hasNextPage}
            onFirst={props.pager.onFirst}
            onPrevious={() => props.pager.onPrevious(rows.pageInfo().startCursor)}
            onNext={() => props.pager.onNext(rows.pageInfo().endCursor, rows.rows.keys.length)}
          />
        </Match>
      </Switch>
    </div>
  );
}
