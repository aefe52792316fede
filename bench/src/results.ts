/**
 * What a scenario reports: figures (one value per repetition) and ratios against the baseline run
 * in the same repetition, each summarised by its median and its spread (lowest–highest value).
 */

export interface Figure {
  /** e.g. "GraphQL job query (100,000-task job), median latency". */
  name: string;
  unit: string;
  /** One value per repetition. */
  values: number[];
  /** The goal, in words, when the issue sets one for this figure. */
  goal?: string;
  /** Whether the goal is met by the median (undefined when there is no goal). */
  met?: boolean;
}

export interface ScenarioResult {
  id: string;
  title: string;
  /** What was run, in a sentence or two (sizes, settings). */
  setup: string;
  figures: Figure[];
  /** Facts checked during the run (no report lost, caps held, data equal to the baseline's…). */
  checks: string[];
  notes: string[];
  /** When the scenario was measured, if in an earlier run than the one it is reported with (`--only`). */
  measuredIn?: { finishedAt: string; commit: string; reps: number };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The q-quantile (0..1) by nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** The largest value (Math.max(...values) overflows the stack on large arrays). */
export function maxOf(values: readonly number[]): number {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  return max;
}

export function spread(values: readonly number[]): [number, number] {
  return [Math.min(...values), Math.max(...values)];
}

/** Rounds for display: three significant digits, thousands separated. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function figure(name: string, unit: string, values: number[], goal?: { text: string; met: (median: number) => boolean }): Figure {
  return { name, unit, values, ...(goal ? { goal: goal.text, met: goal.met(median(values)) } : {}) };
}

/** Per-repetition ratios a[i] / b[i]. */
export function ratios(a: readonly number[], b: readonly number[]): number[] {
  return a.map((x, i) => x / b[i]);
}
