/** A thin progress bar with its percentage; `tone` colours failed or finished work. */
import { formatPercent } from '../format';

export function ProgressBar(props: { value: number; tone?: 'default' | 'success' | 'danger' | 'muted'; label?: string; compact?: boolean }) {
  const clamped = () => Math.max(0, Math.min(100, props.value));
  return (
    <div class={`progress ${props.compact ? 'progress-compact' : ''}`} title={props.label ?? formatPercent(clamped())}>
      <div class="progress-track" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={clamped()} aria-label={props.label}>
        {/* scaleX, not width: a moving bar then costs no layout, which matters with hundreds of live rows. */}
        <div class={`progress-fill tone-${props.tone ?? 'default'}`} style={{ transform: `scaleX(${clamped() / 100})` }} />
      </div>
      <span class="progress-text">{formatPercent(clamped())}</span>
    </div>
  );
}
