/**
 * Searches of the device table: device key in every tab; in Upgrade Failed also current version,
 * failure reason and the time range of the failure (failedAfter inclusive, failedBefore exclusive).
 */
import { For, Show } from 'solid-js';
import { SearchInput } from '../../components/SearchInput';
import { fromLocalInput, toLocalInput } from '../../format';
import { FAILURE_REASON_LABELS, FAILURE_REASONS } from '../../labels';
import { param, type Params } from '../../url';

export function DeviceSearch(props: { failedTab: boolean; params: Params; setFilter: (p: Params) => void; pageSize: number; pageSizes: number[] }) {
  const hasSearch = () => ['q', 'version', 'reason', 'failedAfter', 'failedBefore'].some((k) => param(props.params, k));
  return (
    <search class="toolbar toolbar-inset" data-testid="device-search">
      <SearchInput
        label="Device key"
        placeholder="Search device key"
        testId="search-device-key"
        value={param(props.params, 'q')}
        onSearch={(q) => props.setFilter({ q })}
      />
      <Show when={props.failedTab}>
        <SearchInput
          label="Current version"
          placeholder="Current version"
          testId="search-version"
          value={param(props.params, 'version')}
          onSearch={(version) => props.setFilter({ version })}
        />
        <select
          class="input"
          aria-label="Failure reason"
          data-testid="search-reason"
          value={param(props.params, 'reason') ?? ''}
          onChange={(e) => props.setFilter({ reason: e.currentTarget.value })}
        >
          <option value="">All failure reasons</option>
          <For each={FAILURE_REASONS}>{(r) => <option value={r}>{FAILURE_REASON_LABELS[r]}</option>}</For>
        </select>
        <FailedTimeInput label="Failed from" param="failedAfter" {...props} />
        <FailedTimeInput label="to" param="failedBefore" {...props} />
      </Show>
      <Show when={hasSearch()}>
        <button
          type="button"
          class="link-btn"
          onClick={() => props.setFilter({ q: undefined, version: undefined, reason: undefined, failedAfter: undefined, failedBefore: undefined })}
        >
          Clear search
        </button>
      </Show>
      <span class="spacer" />
      <label class="inline-label">
        Rows
        <select
          class="input input-small"
          aria-label="Rows per page"
          value={String(props.pageSize)}
          onChange={(e) => props.setFilter({ size: e.currentTarget.value })}
        >
          <For each={props.pageSizes}>{(n) => <option value={n}>{n}</option>}</For>
        </select>
      </label>
    </search>
  );
}

/** One end of the failure time range: a local date-time in the page, an ISO instant in the URL. */
function FailedTimeInput(props: { label: string; param: 'failedAfter' | 'failedBefore'; params: Params; setFilter: (p: Params) => void }) {
  return (
    <label class="inline-label">
      {props.label}
      <input
        class="input"
        type="datetime-local"
        aria-label={props.param === 'failedAfter' ? 'Failed from' : 'Failed before'}
        data-testid={props.param === 'failedAfter' ? 'search-failed-after' : 'search-failed-before'}
        value={toLocalInput(param(props.params, props.param))}
        onChange={(e) => props.setFilter({ [props.param]: fromLocalInput(e.currentTarget.value) ?? undefined })}
      />
    </label>
  );
}
