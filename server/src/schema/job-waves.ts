/**
 * A job's phased rollout (issue 16): OtaJob.rollout (seed, canary keys, why the next wave waits,
 * every decision) and OtaJob.waves (each wave's status, counts per tab, thresholds and the live
 * abort gauge). Read from job_waves and job_wave_counts, batched per request.
 */
import DataLoader from 'dataloader';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import type { WAVE_STATUSES } from '../db/schema.js';
import { abortGauge, type AbortGauge, nextWaveWaitsFor, successPercent, type WaveState } from '../domain/jobs/wave-rules.js';
import { loadRolloutDecisions, loadWaveStates, type RolloutDecisionRow } from '../domain/jobs/waves.js';
import type { StatusCounts } from '../domain/tasks/rules.js';
import { OtaJob } from './job.js';
import { UpgradeStatusCounts } from './job-fields.js';

type Wave = Awaited<ReturnType<typeof loadWaveStates>> extends Map<string, (infer W)[]> ? W : never;
interface WaveOfJob {
  wave: Wave;
  job: { status: string; activeWave: number | null };
  waves: Wave[];
  minuteMs: number;
}

const loadersOf = new WeakMap<object, DataLoader<string, Wave[]>>();

/** The waves of jobs, one read per request (forgotten when a live job changes: clearWaves). */
function wavesOf(context: GraphQLContext, jobId: string): Promise<Wave[]> {
  let loader = loadersOf.get(context.loaders);
  if (!loader) {
    const db = context.services.db;
    loader = new DataLoader(async (ids: readonly string[]) => {
      const byJob = await loadWaveStates(db, ids);
      return ids.map((id) => byJob.get(id) ?? []);
    });
    loadersOf.set(context.loaders, loader);
  }
  return loader.load(jobId);
}

/** A subscription's context outlives changes of its job: read the waves afresh. */
export function clearWaves(context: GraphQLContext, jobId: string): void {
  loadersOf.get(context.loaders)?.clear(jobId);
}

export const WaveStatus = builder.enumType('WaveStatus', {
  values: {
    PENDING: { value: 'PENDING', description: 'Not started: its devices wait (WAVE_NOT_STARTED).' },
    RUNNING: { value: 'RUNNING', description: 'Its devices are pushed; its success threshold is not reached yet.' },
    SOAKING: { value: 'SOAKING', description: 'Success threshold reached; the next wave starts after the soak time.' },
    WAITING_FOR_APPROVAL: { value: 'WAITING_FOR_APPROVAL', description: 'Passed; the next wave starts once someone approves it (approveNextWave).' },
    PASSED: { value: 'PASSED', description: 'Its success threshold was reached and the next wave started (or it was the last).' },
    FAILED: { value: 'FAILED', description: 'Its error threshold stopped the job, or it ended below its success threshold.' },
  } satisfies Record<(typeof WAVE_STATUSES)[number], unknown>,
});

const WaveErrorThreshold = builder.objectRef<{ percent: number; minFinished: number }>('WaveErrorThreshold').implement({
  description: "The job stops when more than `percent` of the wave's finished devices failed, once `minFinished` of them finished.",
  fields: (t) => ({ percent: t.exposeInt('percent'), minFinished: t.exposeInt('minFinished') }),
});

const WaveAbortGauge = builder.objectRef<AbortGauge>('WaveAbortGauge').implement({
  description:
    'The active wave against its error threshold, to see a stop coming: its failure share now, and the worst case if every device in flight failed. Failures by cancellation and DEVICE_NOT_FOUND count in neither (they say nothing about the firmware).',
  fields: (t) => ({
    failedPercent: t.exposeFloat('failedPercent', { description: 'Failed / finished × 100 (0 when none finished).' }),
    worstCasePercent: t.exposeFloat('worstCasePercent', { description: '(Failed + in flight) / (finished + in flight) × 100.' }),
    thresholdPercent: t.exposeInt('thresholdPercent', { nullable: true, description: 'The error threshold; null when the wave has none.' }),
    minFinished: t.exposeInt('minFinished'),
    finished: t.exposeInt('finished'),
    inFlight: t.exposeInt('inFlight'),
    crossed: t.exposeBoolean('crossed', { description: 'The threshold is crossed: the job stops (or has stopped).' }),
    wouldCross: t.exposeBoolean('wouldCross', { description: 'If every device in flight failed, the job would stop.' }),
  }),
});

const countsOf = (w: WaveState): StatusCounts => ({
  toBePushed: w.counts.toBePushed,
  pushed: w.counts.pushed,
  inProgress: w.counts.inProgress,
  succeeded: w.counts.succeeded,
  failed: w.counts.failed + w.counts.excluded,
});

const RolloutWave = builder.objectRef<WaveOfJob>('RolloutWave').implement({
  description: 'One wave of a phased rollout, in order.',
  fields: (t) => ({
    index: t.int({ description: '0 for the first wave (the canary).', resolve: ({ wave }) => wave.index }),
    name: t.string({ resolve: ({ wave }) => wave.name }),
    status: t.field({ type: WaveStatus, resolve: ({ wave }) => wave.status }),
    active: t.boolean({ description: 'The wave the rollout is at.', resolve: ({ wave, job }) => wave.index === job.activeWave }),
    selectPercent: t.int({
      nullable: true,
      description: 'The rollout reaches this share of the targets by the end of this wave (cumulative); 100 for the last wave.',
      resolve: ({ wave }) => wave.row.selectPercent,
    }),
    selectCount: t.int({ nullable: true, description: 'This many more devices.', resolve: ({ wave }) => wave.row.selectCount }),
    selectTags: t.stringList({
      nullable: true,
      description: 'The devices with these tags ("key=value") not in an earlier wave.',
      resolve: ({ wave }) => wave.row.selectTags?.map((tag) => `${tag.key}=${tag.value}`) ?? null,
    }),
    deviceCount: t.int({ resolve: ({ wave }) => Object.values(countsOf(wave)).reduce((a, b) => a + b, 0) }),
    statusCounts: t.field({ type: UpgradeStatusCounts, description: "The wave's devices per tab.", resolve: ({ wave }) => countsOf(wave) }),
    progress: t.float({
      description: 'Final devices of the wave / all its devices × 100.',
      resolve: ({ wave }) => {
        const c = countsOf(wave);
        const all = c.toBePushed + c.pushed + c.inProgress + c.succeeded + c.failed;
        return all === 0 ? 0 : Math.round(((c.succeeded + c.failed) / all) * 10_000) / 100;
      },
    }),
    successPercent: t.float({
      description: 'Succeeded / its devices × 100 (cancelled and not-found devices left out): compared with successThresholdPercent.',
      resolve: ({ wave }) => successPercent(wave.counts),
    }),
    successThresholdPercent: t.int({ description: 'Share succeeded that starts the next wave.', resolve: ({ wave }) => wave.successThresholdPercent }),
    errorThreshold: t.field({
      type: WaveErrorThreshold,
      nullable: true,
      resolve: ({ wave }) => (wave.errorThresholdPercent === null ? null : { percent: wave.errorThresholdPercent, minFinished: wave.errorMinFinished }),
    }),
    soakMinutes: t.int({ description: 'Wait after the success threshold before the next wave.', resolve: ({ wave }) => wave.soakMinutes }),
    approvalRequired: t.boolean({ description: 'After this wave the job waits for an approval.', resolve: ({ wave }) => wave.approvalRequired }),
    abortGauge: t.field({ type: WaveAbortGauge, resolve: ({ wave }) => abortGauge(wave) }),
    startedAt: t.field({ type: 'DateTime', nullable: true, resolve: ({ wave }) => wave.startedAt }),
    thresholdReachedAt: t.field({ type: 'DateTime', nullable: true, resolve: ({ wave }) => wave.thresholdReachedAt }),
    soakEndsAt: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: ({ wave, minuteMs }) =>
        wave.thresholdReachedAt && wave.soakMinutes > 0 ? new Date(wave.thresholdReachedAt.getTime() + wave.soakMinutes * minuteMs) : null,
    }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, description: 'When it passed or failed.', resolve: ({ wave }) => wave.row.finishedAt }),
    approvedAt: t.field({ type: 'DateTime', nullable: true, resolve: ({ wave }) => wave.row.approvedAt }),
    approvedBy: t.string({ nullable: true, resolve: ({ wave }) => wave.row.approvedBy }),
    nextWaveWaitsFor: t.string({
      nullable: true,
      description: 'For the active wave: why the next wave has not started yet.',
      resolve: ({ wave, job, waves, minuteMs }) => (wave.index === job.activeWave ? nextWaveWaitsFor(job, waves, new Date(), minuteMs) : null),
    }),
  }),
});

const RolloutDecision = builder.objectRef<RolloutDecisionRow>('RolloutDecision').implement({
  description: 'A decision of the rollout: who or what made it, and why.',
  fields: (t) => ({
    wave: t.exposeInt('waveIndex'),
    kind: t.exposeString('kind', {
      description:
        'PLAN_CREATED, WAVE_STARTED, THRESHOLD_REACHED, SOAK_ENDED, APPROVAL_REQUESTED, APPROVED, ERROR_THRESHOLD_CROSSED, ENDED_BELOW_THRESHOLD, WAVE_RESUMED.',
    }),
    actor: t.exposeString('actor', { description: 'A user, or "Rollout engine".' }),
    reason: t.exposeString('reason'),
    decidedAt: t.expose('decidedAt', { type: 'DateTime' }),
  }),
});

interface RolloutShape {
  jobId: string;
  seed: number | null;
  canaryDeviceKeys: string[];
  activeWave: number;
  job: { status: string; activeWave: number | null };
}

const Rollout = builder.objectRef<RolloutShape>('Rollout').implement({
  description: "An upgrade job's phased rollout plan.",
  fields: (t) => ({
    randomOrder: t.boolean({ resolve: (r) => r.seed !== null }),
    seed: t.int({
      nullable: true,
      description: 'Seed of the random order within waves: the same plan and seed give the same waves. Null: device-key order.',
      resolve: (r) => r.seed,
    }),
    canaryDeviceKeys: t.stringList({ description: 'Devices pinned to the first wave.', resolve: (r) => r.canaryDeviceKeys }),
    activeWave: t.int({ description: 'Index of the wave the rollout is at.', resolve: (r) => r.activeWave }),
    nextWaveWaitsFor: t.string({
      nullable: true,
      description: 'Why the next wave has not started yet (null when there is no next wave to wait for).',
      resolve: async (r, _args, context) => nextWaveWaitsFor(r.job, await wavesOf(context, r.jobId), new Date(), context.services.config.engineMinuteMs),
    }),
    decisions: t.field({
      type: [RolloutDecision],
      description: 'Every decision of the rollout, oldest first.',
      resolve: (r, _args, context) => loadRolloutDecisions(context.services.db, r.jobId),
    }),
  }),
});

builder.drizzleObjectFields(OtaJob, (t) => ({
  rollout: t.field({
    type: Rollout,
    nullable: true,
    description: 'The phased rollout plan; null for a job of one wave (no plan).',
    select: { columns: { id: true, status: true, activeWave: true, rolloutSeed: true, canaryDeviceKeys: true } },
    resolve: (job) =>
      job.activeWave === null ? null : { jobId: job.id, seed: job.rolloutSeed, canaryDeviceKeys: job.canaryDeviceKeys, activeWave: job.activeWave, job },
  }),
  waves: t.field({
    type: [RolloutWave],
    description: 'The waves of the rollout plan in order; empty for a job without a plan.',
    select: { columns: { id: true, status: true, activeWave: true } },
    resolve: async (job, _args, context) => {
      if (job.activeWave === null) return [];
      const waves = await wavesOf(context, job.id);
      const minuteMs = context.services.config.engineMinuteMs;
      return waves.map((wave) => ({ wave, job, waves, minuteMs }));
    },
  }),
}));
