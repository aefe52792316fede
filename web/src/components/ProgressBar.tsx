/**
 * Progress bars. `ProgressBar` draws one value (a device's progress, an upload); `JobProgressBar`
 * draws a job's final devices as two segments, succeeded (green) and failed (red), so that a job
 * whose devices all failed never reads as a full, successful bar. Both move by `transform` (no
 * layout), which matters with hundreds of live rows.
 */
import { Show } from 'solid-js';
import { formatCount, formatPercent } from '../format';

export function ProgressBar(props: { value: number; tone?: 'default' | 'success' | 'danger' | 'muted'; label?: string; compact?: boolean }) {
  const clamped = () => Math.max(0, Math.min(100, props.value));
  return (
    <div class={`progress ${props.compact ? 'progress-compact' : ''}`} title={props.label ?? formatPercent(clamped())}>
      <div class="progress-track" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={clamped()} aria-label={props.label ?? 'Progress'}>
        <div class={`progress-fill tone-${props.tone ?? 'default'}`} style={{ transform: `scaleX(${clamped() / 100})` }} />
      </div>
      <span class="progress-text">{formatPercent(clamped())}</span>
    </div>
  );
}

export interface JobProgressCounts {
  deviceCount: number;
  progress: number;
  statusCounts: { succeeded: number; failed: number };
}

/** "45.1% finished: 120 succeeded, 30 failed" with the bar split by outcome. */
export function JobProgressBar(props: { job: JobProgressCounts; label: string; compact?: boolean }) {
  const total = () => Math.max(props.job.deviceCount, 1);
  const succeeded = () => Math.min(1, props.job.statusCounts.succeeded / total());
  const failed = () => Math.min(1 - succeeded(), props.job.statusCounts.failed / total());
  const summary = () =>
    `${formatPercent(props.job.progress)} finished: ${formatCount(props.job.statusCounts.succeeded)} succeeded, ${formatCount(props.job.statusCounts.failed)} failed`;
  return (
    <div class={`progress job-progress ${props.compact ? 'progress-compact' : ''}`} title={summary()} data-testid="job-progress-bar">
      <div
        class="progress-track"
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={props.job.progress}
        aria-valuetext={summary()}
        aria-label={props.label}
      >
        <div class="progress-fill tone-success" style={{ transform: `scaleX(${succeeded()})` }} />
        <div class="progress-fill tone-danger" style={{ transform: `translateX(${succeeded() * 100}%) scaleX(${failed()})` }} />
      </div>
      <span class="progress-text">
        {formatPercent(props.job.progress)}
        <Show when={props.job.statusCounts.failed > 0}>
          {' '}
          <span class="failed-count" data-testid="failed-count">
            {formatCount(props.job.statusCounts.failed)} failed
          </span>
        </Show>
      </span>
      <Show when={!props.compact}>
        <span class="progress-legend" data-testid="progress-legend">
          <span class="legend-ok">{formatCount(props.job.statusCounts.succeeded)} succeeded</span>
          <span class="legend-failed">{formatCount(props.job.statusCounts.failed)} failed</span>
          <span class="muted">{formatCount(props.job.deviceCount - props.job.statusCounts.succeeded - props.job.statusCounts.failed)} not finished</span>
        </span>
      </Show>
    </div>
  );
}
