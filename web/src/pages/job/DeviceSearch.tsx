/**
 * Searches of the device table: device key in every tab; in Upgrade Failed also current version
 * (the whole version, exactly), failure reason and the time range of the failure (from inclusive,
 * to exclusive), entered in the zone the console shows times in. A range whose end is not after its
 * start is refused here, next to its field, and never sent.
 */
import { createSignal, For, Show } from 'solid-js';
import { FieldError, invalidProps, type FieldErrors } from '../../components/Form';
import { SearchInput } from '../../components/SearchInput';
import { FAILURE_REASON_LABELS, FAILURE_REASONS } from '../../labels';
import { fromZonedInput, toZonedInput, useTimes } from '../../times';
import { param, type Params } from '../../url';

export function DeviceSearch(props: { failedTab: boolean; params: Params; setFilter: (p: Params) => void; pageSize: number; pageSizes: number[] }) {
  const hasSearch = () => ['q', 'version', 'reason', 'failedAfter', 'failedBefore'].some((k) => param(props.params, k));
  const [errors, setErrors] = createSignal<FieldErrors>({});
  const times = useTimes();
  /** One end of the range changed: checked against the other before it goes into the URL. */
  const setTime = (which: 'failedAfter' | 'failedBefore', value: string) => {
    const iso = value ? fromZonedInput(value, times.zone()) : null;
    if (value && !iso) return setErrors({ [which]: 'Enter a date and time.' });
    const after = which === 'failedAfter' ? iso : (param(props.params, 'failedAfter') ?? null);
    const before = which === 'failedBefore' ? iso : (param(props.params, 'failedBefore') ?? null);
    if (after && before && Date.parse(before) <= Date.parse(after)) {
      return setErrors({ [which]: which === 'failedBefore' ? 'The end must be after the start.' : 'The start must be before the end.' });
    }
    setErrors({});
    props.setFilter({ [which]: iso ?? undefined });
  };
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
          label="Current version (exact)"
          placeholder="Exact version, e.g. 1.1.0"
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
        <fieldset class="time-range" aria-label={`Failure time (${times.label()})`}>
          <label class="inline-label">
            Failed from
            <input
              class="input"
              type="datetime-local"
              step="1"
              name="failedAfter"
              aria-label={`Failed from (${times.label()})`}
              data-testid="search-failed-after"
              value={toZonedInput(param(props.params, 'failedAfter'), times.zone())}
              onChange={(e) => setTime('failedAfter', e.currentTarget.value)}
              {...invalidProps(errors(), 'failedAfter')}
            />
          </label>
          <label class="inline-label">
            to
            <input
              class="input"
              type="datetime-local"
              step="1"
              name="failedBefore"
              aria-label={`Failed before (${times.label()})`}
              data-testid="search-failed-before"
              value={toZonedInput(param(props.params, 'failedBefore'), times.zone())}
              onChange={(e) => setTime('failedBefore', e.currentTarget.value)}
              {...invalidProps(errors(), 'failedBefore')}
            />
          </label>
          <span class="muted zone-note">{times.label()}</span>
          <FieldError errors={errors()} name="failedAfter" />
          <FieldError errors={errors()} name="failedBefore" />
        </fieldset>
      </Show>
      <Show when={hasSearch()}>
        <button
          type="button"
          class="link-btn"
          onClick={() => {
            setErrors({});
            props.setFilter({ q: undefined, version: undefined, reason: undefined, failedAfter: undefined, failedBefore: undefined });
          }}
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
