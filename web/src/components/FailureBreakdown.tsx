/** Failed devices per reason, largest first; a click opens Upgrade Failed searched by that reason. */
import { For, Show } from 'solid-js';
import { formatCount, formatPercent } from '../format';
import { FAILURE_REASON_LABELS, type FailureReason } from '../labels';

export function FailureBreakdown(props: { counts: readonly { reason: string; count: number }[]; onSelect: (reason: FailureReason) => void }) {
  const total = () => props.counts.reduce((sum, c) => sum + c.count, 0);
  const sorted = () => [...props.counts].sort((a, b) => b.count - a.count);
  return (
    <div class="breakdown" data-testid="failure-breakdown">
      <Show when={total() > 0} fallback={<div class="muted breakdown-empty">No failed devices.</div>}>
        <For each={sorted()}>
          {(c) => (
            <button type="button" class="breakdown-row" onClick={() => props.onSelect(c.reason as FailureReason)} title="Show these devices in Upgrade Failed">
              <span class="breakdown-label">{FAILURE_REASON_LABELS[c.reason as FailureReason] ?? c.reason}</span>
              <span class="breakdown-bar">
                <span style={{ width: `${(c.count / total()) * 100}%` }} />
              </span>
              <span class="breakdown-count">
                {formatCount(c.count)} <span class="muted">({formatPercent(Math.round((c.count / total()) * 1000) / 10)})</span>
              </span>
            </button>
          )}
        </For>
      </Show>
    </div>
  );
}
