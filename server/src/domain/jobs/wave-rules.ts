/**
 * Phased rollouts (issue 16), as pure rules: the plan an upgrade job may carry (ordered waves with
 * success and error thresholds, soak time and approval gates, or a preset), the assignment of the
 * job's targets to waves when it is created, and what the rollout does next given each wave's
 * counts. No database and no clock: domain/jobs/waves.ts reads and writes, the engine
 * (engine/waves.ts) and approveNextWave decide here. docs/domain-rules.md "Phased rollouts".
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { TagFilter, TaskStatus, WaveStatus } from '../../db/schema.js';
import { defaultInput } from '../validation.js';
import { deviceKey, tagFilters } from './settings.js';

export const WAVE_LIMITS = {
  wavesMax: 50,
  nameLength: 60,
  countMax: 100_000,
  soakMinutesMax: 7 * 24 * 60,
  canaryDeviceKeysMax: 1000,
  successThresholdDefault: 95,
  seedMax: 2_147_483_647,
} as const;

export const ROLLOUT_PRESETS = ['CANARY_10_50_100', 'CANARY_APPROVAL_10_50_100'] as const;
export type RolloutPreset = (typeof ROLLOUT_PRESETS)[number];

const percent = z.number().int().min(1, 'must be 1 to 100').max(100, 'must be 1 to 100');

const waveInput = z.object({
  name: defaultInput(z.string().trim().max(WAVE_LIMITS.nameLength, `must be at most ${WAVE_LIMITS.nameLength} characters`), ''),
  percent: percent.nullish(),
  count: z.number().int().min(1, 'must be at least 1').max(WAVE_LIMITS.countMax, `must be at most ${WAVE_LIMITS.countMax}`).nullish(),
  tags: tagFilters.min(1, 'must list at least one tag').nullish(),
  successThresholdPercent: defaultInput(percent, WAVE_LIMITS.successThresholdDefault),
  errorThreshold: z.object({ percent, minFinished: defaultInput(z.number().int().min(1, 'must be at least 1'), 1) }).nullish(),
  soakMinutes: defaultInput(z.number().int().min(0, 'must not be negative').max(WAVE_LIMITS.soakMinutesMax, 'must be at most 7 days'), 0),
  approvalRequired: defaultInput(z.boolean(), false),
});
export type WaveInput = z.input<typeof waveInput>;

export interface WavePlan {
  name: string;
  percent: number | null;
  count: number | null;
  tags: TagFilter[] | null;
  successThresholdPercent: number;
  errorThresholdPercent: number | null;
  errorMinFinished: number;
  soakMinutes: number;
  approvalRequired: boolean;
}

export interface RolloutPlan {
  waves: WavePlan[];
  /** Null: device-key order. */
  seed: number | null;
  canaryDeviceKeys: string[];
}

/** The usual plans: a 1 % canary, then 10 %, 50 % and everyone (cumulative shares of the targets). */
export function presetWaves(preset: RolloutPreset): WaveInput[] {
  const gate = preset === 'CANARY_APPROVAL_10_50_100';
  const errorThreshold = { percent: 10, minFinished: 5 };
  return [
    { name: 'Canary', percent: 1, successThresholdPercent: 95, errorThreshold: { percent: 10, minFinished: 1 }, approvalRequired: gate },
    { name: '10 %', percent: 10, successThresholdPercent: 95, errorThreshold },
    { name: '50 %', percent: 50, successThresholdPercent: 95, errorThreshold },
    { name: 'Everyone', percent: 100, successThresholdPercent: 95, errorThreshold },
  ];
}

export const rolloutPlanInput = z
  .object({
    preset: z.enum(ROLLOUT_PRESETS).nullish(),
    waves: z.array(waveInput).max(WAVE_LIMITS.wavesMax, `must list at most ${WAVE_LIMITS.wavesMax} waves`).nullish(),
    randomOrder: defaultInput(z.boolean(), false),
    seed: z.number().int().min(0, 'must be 0 or more').max(WAVE_LIMITS.seedMax, `must be at most ${WAVE_LIMITS.seedMax}`).nullish(),
    canaryDeviceKeys: defaultInput(
      z
        .array(deviceKey)
        .max(WAVE_LIMITS.canaryDeviceKeysMax, `must list at most ${WAVE_LIMITS.canaryDeviceKeysMax}`)
        .refine((l) => new Set(l).size === l.length, 'must not repeat an entry'),
      [],
    ),
  })
  .superRefine((value, ctx) => {
    if (!!value.preset === !!value.waves) {
      ctx.addIssue({ code: 'custom', path: ['waves'], message: 'give either a preset or a list of waves' });
      return;
    }
    const waves = value.waves ?? [];
    if (value.waves && waves.length === 0) ctx.addIssue({ code: 'custom', path: ['waves'], message: 'must list at least one wave' });
    let lastPercent = 0;
    waves.forEach((w, i) => {
      const last = i === waves.length - 1;
      const selectors = [w.percent, w.count, w.tags].filter((s) => s !== null && s !== undefined).length;
      if (last) {
        if (w.count != null || w.tags != null || (w.percent != null && w.percent !== 100)) {
          ctx.addIssue({
            code: 'custom',
            path: ['waves', String(i)],
            message: 'the last wave takes every device the earlier waves did not: give it no count or tags (percent 100 or none)',
          });
        }
        if (w.approvalRequired) {
          ctx.addIssue({ code: 'custom', path: ['waves', String(i), 'approvalRequired'], message: 'the last wave has no next wave to approve' });
        }
      } else if (selectors !== 1) {
        ctx.addIssue({ code: 'custom', path: ['waves', String(i)], message: 'give exactly one of percent, count or tags' });
      }
      if (w.percent != null) {
        if (w.percent <= lastPercent) {
          ctx.addIssue({
            code: 'custom',
            path: ['waves', String(i), 'percent'],
            message: `must be more than the earlier wave's ${lastPercent} (shares are cumulative)`,
          });
        }
        lastPercent = w.percent;
      }
    });
  })
  .transform((value): Omit<RolloutPlan, 'seed'> & { randomOrder: boolean; seed: number | null } => {
    const waves = (value.waves ?? presetWaves(value.preset!)).map((w) => waveInput.parse(w));
    return {
      waves: waves.map((w, i) => ({
        name: w.name || (i === 0 && waves.length > 1 ? 'Canary' : `Wave ${i + 1}`),
        percent: i === waves.length - 1 ? 100 : (w.percent ?? null),
        count: w.count ?? null,
        tags: w.tags ?? null,
        successThresholdPercent: w.successThresholdPercent,
        errorThresholdPercent: w.errorThreshold?.percent ?? null,
        errorMinFinished: w.errorThreshold?.minFinished ?? 1,
        soakMinutes: w.soakMinutes,
        approvalRequired: w.approvalRequired,
      })),
      randomOrder: value.randomOrder || value.seed != null,
      seed: value.seed ?? null,
      canaryDeviceKeys: value.canaryDeviceKeys,
    };
  });

/** A seed for random order when none is given (recorded on the job and shown). */
export function newSeed(random: () => number = Math.random): number {
  return Math.floor(random() * WAVE_LIMITS.seedMax);
}

// ── Assignment ────────────────────────────────────────────────────────────────────────────────

export interface AssignmentTarget {
  deviceKey: string;
  tags: Record<string, string>;
}

export interface Assignment {
  wave: number;
  /** Position in the rollout order, 0-based. */
  order: number;
}

/** Same key: any of its values; different keys: all of them (as the job's scope). */
function tagsMatch(tags: Record<string, string>, wanted: TagFilter[]): boolean {
  const byKey = new Map<string, Set<string>>();
  for (const w of wanted) byKey.set(w.key, (byKey.get(w.key) ?? new Set()).add(w.value));
  for (const [key, values] of byKey) if (!values.has(tags[key])) return false;
  return true;
}

const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The rollout order: pinned canary keys first, then device-key order, or the seed's shuffle. */
export function rolloutOrder(keys: readonly string[], seed: number | null, pinned: ReadonlySet<string>): string[] {
  const sortKey = new Map(keys.map((k) => [k, seed === null ? k : createHash('sha256').update(`${seed}:${k}`).digest('hex')]));
  return [...keys].sort((a, b) => Number(pinned.has(b)) - Number(pinned.has(a)) || byteOrder(sortKey.get(a)!, sortKey.get(b)!) || byteOrder(a, b));
}

/**
 * Every target in exactly one wave: the pinned canary keys in the first; then each wave in turn
 * takes its tags' devices, its count, or as many as bring the rollout to its cumulative percent
 * (rounded up) from the targets not yet assigned, in rollout order; the last wave takes the rest.
 */
export function assignWaves(targets: readonly AssignmentTarget[], plan: RolloutPlan): Map<string, Assignment> {
  const pinned = new Set(plan.canaryDeviceKeys);
  const order = rolloutOrder(
    targets.map((t) => t.deviceKey),
    plan.seed,
    pinned,
  );
  const tagsOf = new Map(targets.map((t) => [t.deviceKey, t.tags]));
  const position = new Map(order.map((k, i) => [k, i]));
  const out = new Map<string, Assignment>();
  const assign = (key: string, wave: number) => out.set(key, { wave, order: position.get(key)! });
  const total = order.length;
  plan.waves.forEach((w, wave) => {
    const last = wave === plan.waves.length - 1;
    const free = () => order.filter((k) => !out.has(k));
    if (wave === 0) for (const k of order) if (pinned.has(k)) assign(k, 0);
    if (last) {
      for (const k of free()) assign(k, wave);
    } else if (w.tags) {
      for (const k of free()) if (tagsMatch(tagsOf.get(k) ?? {}, w.tags)) assign(k, wave);
    } else {
      const inWave = [...out.values()].filter((a) => a.wave === wave).length;
      const want = w.count !== null ? w.count - inWave : Math.ceil((total * (w.percent ?? 0)) / 100) - out.size;
      for (const k of free().slice(0, Math.max(0, want))) assign(k, wave);
    }
  });
  return out;
}

// ── Decisions ─────────────────────────────────────────────────────────────────────────────────

/** A wave's tasks by status, failures split by what they say about the firmware. */
export interface WaveCounts {
  toBePushed: number;
  pushed: number;
  inProgress: number;
  succeeded: number;
  /** Failures that count against the firmware. */
  failed: number;
  /** Failures that say nothing of the firmware: cancelled by a user, device not found. */
  excluded: number;
}

export const EMPTY_WAVE_COUNTS: WaveCounts = { toBePushed: 0, pushed: 0, inProgress: 0, succeeded: 0, failed: 0, excluded: 0 };

/** Failure reasons left out of a wave's thresholds: they say nothing about the firmware. */
const EXCLUDED_REASONS = new Set(['CANCELLED_BY_USER', 'DEVICE_NOT_FOUND']);

/** Adds a row of job_wave_counts (status, reason, n) to a wave's counts. */
export function addCount(counts: WaveCounts, status: TaskStatus, reason: string, n: number): WaveCounts {
  const next = { ...counts };
  if (status === 'TO_BE_PUSHED') next.toBePushed += n;
  else if (status === 'PUSHED') next.pushed += n;
  else if (status === 'IN_PROGRESS') next.inProgress += n;
  else if (status === 'SUCCEEDED') next.succeeded += n;
  else if (EXCLUDED_REASONS.has(reason)) next.excluded += n;
  else next.failed += n;
  return next;
}

export interface WaveState extends Omit<WavePlan, 'percent' | 'count' | 'tags'> {
  index: number;
  status: WaveStatus;
  startedAt: Date | null;
  thresholdReachedAt: Date | null;
  counts: WaveCounts;
}

export interface RolloutJob {
  status: string;
  activeWave: number | null;
}

const total = (c: WaveCounts) => c.toBePushed + c.pushed + c.inProgress + c.succeeded + c.failed + c.excluded;
/** The devices a wave's thresholds are shares of. */
const counted = (c: WaveCounts) => total(c) - c.excluded;
const inFlight = (c: WaveCounts) => c.pushed + c.inProgress;
const round1 = (x: number) => Math.round(x * 10) / 10;

export function successPercent(c: WaveCounts): number {
  const n = counted(c);
  return n === 0 ? 100 : round1((c.succeeded / n) * 100);
}

export interface AbortGauge {
  /** Failed / finished × 100 of the wave's devices (0 when none finished). */
  failedPercent: number;
  /** The same if every device in flight failed. */
  worstCasePercent: number;
  thresholdPercent: number | null;
  minFinished: number;
  finished: number;
  inFlight: number;
  /** The threshold stops the job now (or would at once, with minFinished reached). */
  crossed: boolean;
  /** If every device in flight failed, the job would stop. */
  wouldCross: boolean;
}

export function abortGauge(wave: Pick<WaveState, 'errorThresholdPercent' | 'errorMinFinished' | 'counts'>): AbortGauge {
  const c = wave.counts;
  const finished = c.succeeded + c.failed;
  const flying = inFlight(c);
  const failedPercent = finished === 0 ? 0 : round1((c.failed / finished) * 100);
  const worst = finished + flying === 0 ? 0 : round1(((c.failed + flying) / (finished + flying)) * 100);
  const threshold = wave.errorThresholdPercent;
  const crosses = (failed: number, done: number) => threshold !== null && done > 0 && done >= wave.errorMinFinished && (failed / done) * 100 > threshold;
  return {
    failedPercent,
    worstCasePercent: worst,
    thresholdPercent: threshold,
    minFinished: wave.errorMinFinished,
    finished,
    inFlight: flying,
    crossed: crosses(c.failed, finished),
    wouldCross: crosses(c.failed + flying, finished + flying),
  };
}

export type RolloutDecision =
  /** The wave starts: its devices may be pushed. */
  | { kind: 'WAVE_STARTED'; wave: number; reason: string }
  /** Its success threshold is reached; `next` is what the wave does now. */
  | { kind: 'THRESHOLD_REACHED'; wave: number; next: 'SOAKING' | 'WAITING_FOR_APPROVAL' | 'PASSED'; reason: string }
  /** The soak time is over; `next` as above. */
  | { kind: 'SOAK_ENDED'; wave: number; next: 'WAITING_FOR_APPROVAL' | 'PASSED'; reason: string }
  /** The job waits for a person (its status WAITING_FOR_APPROVAL). */
  | { kind: 'APPROVAL_REQUESTED'; wave: number; reason: string }
  /** The wave's error threshold stops the job. */
  | { kind: 'ERROR_THRESHOLD_CROSSED'; wave: number; reason: string }
  /**
   * Every device of the wave is final and its success threshold was not reached: the wave failed,
   * and the job stops (unless it was the last wave: then the job simply finishes).
   */
  | { kind: 'ENDED_BELOW_THRESHOLD'; wave: number; stopsJob: boolean; reason: string };

const label = (w: Pick<WaveState, 'index' | 'name'>) => `Wave ${w.index + 1} (${w.name})`;

/**
 * What the rollout does next, in order. The active wave's error threshold is checked while the job
 * runs or waits for approval (retries of its devices count toward it); the active wave moves on only
 * while the job runs. Soak minutes last `minuteMs` each.
 */
export function decideRollout(job: RolloutJob, waves: readonly WaveState[], now: Date, minuteMs: number): RolloutDecision[] {
  if (job.activeWave === null || (job.status !== 'RUNNING' && job.status !== 'WAITING_FOR_APPROVAL')) return [];
  const current = waves.find((w) => w.index === job.activeWave);
  if (!current || current.status === 'FAILED') return [];
  if (current.status !== 'PENDING') {
    const g = abortGauge(current);
    if (g.crossed) {
      return [
        {
          kind: 'ERROR_THRESHOLD_CROSSED',
          wave: current.index,
          reason: `${label(current)}: ${current.counts.failed} of ${g.finished} finished devices failed (${g.failedPercent}%), above its error threshold of ${current.errorThresholdPercent}%`,
        },
      ];
    }
  }
  if (job.status !== 'RUNNING') return [];
  const out: RolloutDecision[] = [];
  let active = waves.find((w) => w.index === job.activeWave);
  let status = active?.status;
  let reachedAt = active?.thresholdReachedAt ?? null;
  while (active) {
    const last = active.index === waves.length - 1;
    const c = active.counts;
    if (status === 'FAILED') return out;
    if (status === 'PENDING') {
      out.push({ kind: 'WAVE_STARTED', wave: active.index, reason: active.index === 0 ? 'the job started' : `${label(waves[active.index - 1])} passed` });
      status = 'RUNNING';
    }
    if (status === 'RUNNING') {
      const share = successPercent(c);
      if (share >= active.successThresholdPercent) {
        const next = last ? 'PASSED' : active.soakMinutes > 0 ? 'SOAKING' : active.approvalRequired ? 'WAITING_FOR_APPROVAL' : 'PASSED';
        out.push({
          kind: 'THRESHOLD_REACHED',
          wave: active.index,
          next,
          reason: `${label(active)}: ${c.succeeded} of ${counted(c)} devices succeeded (${share}%), reaching its success threshold of ${active.successThresholdPercent}%`,
        });
        status = next;
        reachedAt = now;
      } else if (c.toBePushed + inFlight(c) === 0) {
        out.push({
          kind: 'ENDED_BELOW_THRESHOLD',
          wave: active.index,
          stopsJob: !last,
          reason: `${label(active)}: every device finished but only ${c.succeeded} of ${counted(c)} succeeded (${share}%), below its success threshold of ${active.successThresholdPercent}%`,
        });
        return out;
      } else {
        return out;
      }
    }
    if (status === 'SOAKING') {
      const until = (reachedAt ?? now).getTime() + active.soakMinutes * minuteMs;
      if (now.getTime() < until) return out;
      const next = active.approvalRequired ? 'WAITING_FOR_APPROVAL' : 'PASSED';
      out.push({ kind: 'SOAK_ENDED', wave: active.index, next, reason: `${label(active)}: soaked for ${active.soakMinutes} minutes` });
      status = next;
    }
    if (status === 'WAITING_FOR_APPROVAL') {
      out.push({ kind: 'APPROVAL_REQUESTED', wave: active.index, reason: `${label(active)} passed; the next wave starts once someone approves it` });
      return out;
    }
    // PASSED: on to the next wave, if any.
    const following = waves.find((w) => w.index === active!.index + 1);
    if (!following || following.status !== 'PENDING') return out;
    active = following;
    status = 'PENDING';
    reachedAt = null;
  }
  return out;
}

/** Why the next wave has not started (null when there is none to wait for). */
export function nextWaveWaitsFor(job: RolloutJob, waves: readonly WaveState[], now: Date, minuteMs: number): string | null {
  if (job.activeWave === null) return null;
  const active = waves.find((w) => w.index === job.activeWave);
  if (!active) return null;
  const last = active.index === waves.length - 1;
  if (job.status === 'CANCELLED') return 'The job was cancelled.';
  if (job.status === 'FINISHED') return null;
  if (active.status === 'FAILED') return `${label(active)} failed: the job stopped.`;
  if (last) return null;
  if (job.status === 'STOPPED') return 'The job is stopped: start it to resume the rollout.';
  if (job.status === 'SCHEDULED') return 'The job has not started yet.';
  const c = active.counts;
  switch (active.status) {
    case 'PENDING':
      return `${label(active)} has not started yet.`;
    case 'RUNNING':
      return `${label(active)}: ${c.succeeded} of ${counted(c)} devices succeeded (${successPercent(c)}%); the next wave starts at ${active.successThresholdPercent}%.`;
    case 'SOAKING': {
      const until = new Date((active.thresholdReachedAt ?? now).getTime() + active.soakMinutes * minuteMs);
      return `${label(active)} is soaking until ${until.toISOString()}.`;
    }
    case 'WAITING_FOR_APPROVAL':
      return `${label(active)} passed: waiting for someone with OTA_CONTROL to approve the next wave.`;
    case 'PASSED':
      return null;
  }
}
