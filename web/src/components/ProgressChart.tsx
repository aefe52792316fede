/**
 * Progress over time: the job's history as the server reports it (devices final at evenly spaced
 * instants, from their finish times), extended by the live states this page receives. Where the
 * samples do not reach the job's start or end, the gap is drawn dashed.
 */
import { createMemo, For, Show } from 'solid-js';
import { formatPercent } from '../format';
import { useTimes } from '../times';

export interface ProgressSample {
  t: number;
  progress: number;
  failedPercent: number;
}

const MAX_SAMPLES = 600;

/** Samples from OtaJob.progressHistory: cumulative final and failed devices as percentages. */
export function historySamples(history: readonly { at: string; succeeded: number; failed: number }[], deviceCount: number): ProgressSample[] {
  const percent = (n: number) => (deviceCount ? Math.round((n / deviceCount) * 10_000) / 100 : 0);
  return history.map((p) => ({ t: Date.parse(p.at), progress: percent(p.succeeded + p.failed), failedPercent: percent(p.failed) }));
}

/** Appends a live sample (skipping repeats of the last value) and keeps at most MAX_SAMPLES, thinning old ones. */
export function appendSample(samples: ProgressSample[], sample: ProgressSample): ProgressSample[] {
  const last = samples[samples.length - 1];
  if (last && last.progress === sample.progress && last.failedPercent === sample.failedPercent && sample.t - last.t < 60_000) return samples;
  const next = [...samples, sample];
  return next.length > MAX_SAMPLES ? next.filter((_, i) => i % 2 === 0 || i >= next.length - MAX_SAMPLES / 2) : next;
}

const W = 560;
const H = 150;
const PAD = { left: 36, right: 10, top: 10, bottom: 22 };

export function ProgressChart(props: { samples: ProgressSample[]; startedAt: string | null; finishedAt: string | null; finalProgress: number }) {
  const times = useTimes();
  const geometry = createMemo(() => {
    const observed = props.samples;
    const start = props.startedAt ? Date.parse(props.startedAt) : observed[0]?.t;
    const end = props.finishedAt ? Date.parse(props.finishedAt) : undefined;
    const first = observed[0];
    const last = observed[observed.length - 1];
    const t0 = Math.min(start ?? Date.now(), first?.t ?? Infinity);
    const t1 = Math.max(end ?? 0, last?.t ?? 0, props.finishedAt ? 0 : Date.now(), t0 + 60_000);
    const x = (t: number) => PAD.left + ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
    const y = (p: number) => PAD.top + (1 - p / 100) * (H - PAD.top - PAD.bottom);
    const line = (points: [number, number][]) => points.map(([t, p], i) => `${i ? 'L' : 'M'}${x(t).toFixed(1)},${y(p).toFixed(1)}`).join(' ');
    const before: [number, number][] =
      start !== undefined && first && first.t > start
        ? [
            [start, 0],
            [first.t, first.progress],
          ]
        : [];
    const after: [number, number][] =
      end !== undefined && last && end > last.t
        ? [
            [last.t, last.progress],
            [end, props.finalProgress],
          ]
        : [];
    const unobserved: [number, number][] =
      !first && start !== undefined && end !== undefined
        ? [
            [start, 0],
            [end, props.finalProgress],
          ]
        : [];
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => t0 + f * (t1 - t0));
    const lastPoint = last ? { cx: x(last.t), cy: y(last.progress) } : null;
    return {
      progress: line(observed.map((s) => [s.t, s.progress])),
      failed: line(observed.map((s) => [s.t, s.failedPercent])),
      dashed: [before, after, unobserved].filter((l) => l.length).map(line),
      ticks: ticks.map((t, i) => ({
        x: x(t),
        label: times.clock(t, t1 - t0 < 10 * 60_000),
        anchor: (i === 0 ? 'start' : i === ticks.length - 1 ? 'end' : 'middle') as 'start' | 'middle' | 'end',
      })),
      lastPoint,
      y,
    };
  });
  const latest = () => props.samples[props.samples.length - 1];
  return (
    <figure class="chart" data-testid="progress-chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Progress over time">
        <For each={[0, 25, 50, 75, 100]}>
          {(p) => (
            <>
              <line class="grid" x1={PAD.left} x2={W - PAD.right} y1={geometry().y(p)} y2={geometry().y(p)} />
              <text class="axis" x={PAD.left - 6} y={geometry().y(p) + 3} text-anchor="end">
                {p}%
              </text>
            </>
          )}
        </For>
        <For each={geometry().ticks}>
          {(tick) => (
            <text class="axis" x={tick.x} y={H - 6} text-anchor={tick.anchor}>
              {tick.label}
            </text>
          )}
        </For>
        <For each={geometry().dashed}>{(d) => <path class="series-dashed" d={d} />}</For>
        <path class="series-progress" d={geometry().progress} />
        <path class="series-failed" d={geometry().failed} />
        <Show when={geometry().lastPoint}>{(p) => <circle class="series-point" cx={p().cx} cy={p().cy} r="3" />}</Show>
      </svg>
      <figcaption class="chart-legend">
        <span class="legend-progress">Progress</span>
        <span class="legend-failed">Failed</span>
        <span class="legend-dashed">No data</span>
        <span class="muted">Times in {times.label()}</span>
        <Show when={latest()}>{(s) => <span class="muted">Now {formatPercent(s().progress)}</span>}</Show>
      </figcaption>
    </figure>
  );
}
