/**
 * Phased rollouts in the database: a job's waves (job_waves), their counts (job_wave_counts, kept
 * by a trigger), the assignment of tasks to waves at creation, the rollout's decisions written and
 * recorded (job_rollout_decisions), and the approval of the next wave. The rules themselves are
 * pure, in wave-rules.ts.
 */
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { jobRolloutDecisions, jobWaveCounts, jobWaves, otaJobs, type TaskStatus } from '../../db/schema.js';
import { queryRows } from '../../db/sql.js';
import { type Caller, requirePermission } from '../caller.js';
import { InvalidInputError, InvalidJobStateError } from '../errors.js';
import { writeWaveAssignment } from '../tasks/write.js';
import type { TransactionScope } from '../transaction.js';
import { queueJobStatusChanged } from '../webhooks/outbox.js';
import { lockJob } from './access.js';
import { jobEvents } from './events.js';
import type { JobRow } from './settings-view.js';
import { addCount, assignWaves, EMPTY_WAVE_COUNTS, type RolloutDecision, type RolloutPlan, type WaveState } from './wave-rules.js';

export const ROLLOUT_ENGINE = 'Rollout engine';

type WaveRow = typeof jobWaves.$inferSelect;

/** The plan's waves, its first wave started when the job runs from creation; then the tasks assigned. */
export async function createRolloutPlan(tx: Executor, job: JobRow, plan: RolloutPlan, createdBy: string): Promise<void> {
  await tx.insert(jobWaves).values(
    plan.waves.map((w, index) => ({
      jobId: job.id,
      index,
      ouId: job.ouId,
      name: w.name,
      selectPercent: w.percent,
      selectCount: w.count,
      selectTags: w.tags,
      successThresholdPercent: w.successThresholdPercent,
      errorThresholdPercent: w.errorThresholdPercent,
      errorMinFinished: w.errorMinFinished,
      soakMinutes: w.soakMinutes,
      approvalRequired: w.approvalRequired,
    })),
  );
  const targets = await queryRows<{ id: number | string; device_key: string; tags: Record<string, string> | null }>(
    tx,
    sql`select t.id, t.device_key, d.tags from job_tasks t left join devices d on d.id = t.device_id where t.job_id = ${job.id}`,
  );
  const keys = new Set(targets.map((t) => t.device_key));
  const strays = plan.canaryDeviceKeys.filter((k) => !keys.has(k));
  if (strays.length > 0) {
    throw InvalidInputError.single(['input', 'rollout', 'canaryDeviceKeys'], `are not among the job's targets: ${strays.slice(0, 10).join(', ')}`);
  }
  const assigned = assignWaves(
    targets.map((t) => ({ deviceKey: t.device_key, tags: t.tags ?? {} })),
    plan,
  );
  await writeWaveAssignment(
    tx,
    job.id,
    targets.map((t) => ({ id: Number(t.id), ...assigned.get(t.device_key)! })),
  );
  const seedNote = plan.seed === null ? 'in device-key order' : `in random order, seed ${plan.seed}`;
  await recordDecision(tx, job, 0, 'PLAN_CREATED', createdBy, null, `${plan.waves.length} waves, ${targets.length} devices assigned ${seedNote}`);
  if (job.status === 'RUNNING') await startWave(tx, job, 0, 'the job started', createdBy, null);
}

async function recordDecision(
  tx: Executor,
  job: Pick<JobRow, 'id' | 'ouId'>,
  wave: number,
  kind: string,
  actor: string,
  userId: string | null,
  reason: string,
) {
  await tx.insert(jobRolloutDecisions).values({ ouId: job.ouId, jobId: job.id, waveIndex: wave, kind, actor, actorUserId: userId, reason });
}

async function startWave(tx: Executor, job: Pick<JobRow, 'id' | 'ouId'>, wave: number, reason: string, actor: string, userId: string | null): Promise<boolean> {
  const started = await tx
    .update(jobWaves)
    .set({ status: 'RUNNING', startedAt: new Date() })
    .where(and(eq(jobWaves.jobId, job.id), eq(jobWaves.index, wave), eq(jobWaves.status, 'PENDING')))
    .returning({ index: jobWaves.index });
  if (started.length === 0) return false;
  await tx.update(otaJobs).set({ activeWave: wave, updatedAt: new Date() }).where(eq(otaJobs.id, job.id));
  await recordDecision(tx, job, wave, 'WAVE_STARTED', actor, userId, reason);
  return true;
}

/** Each wave of the jobs with its counts, in order. */
export async function loadWaveStates(db: Executor, jobIds: readonly string[]): Promise<Map<string, (WaveState & { row: WaveRow })[]>> {
  const out = new Map<string, (WaveState & { row: WaveRow })[]>();
  if (jobIds.length === 0) return out;
  const [rows, counts] = await Promise.all([
    db
      .select()
      .from(jobWaves)
      .where(inArray(jobWaves.jobId, [...jobIds]))
      .orderBy(asc(jobWaves.jobId), asc(jobWaves.index)),
    db
      .select()
      .from(jobWaveCounts)
      .where(inArray(jobWaveCounts.jobId, [...jobIds])),
  ]);
  for (const row of rows) {
    let c = EMPTY_WAVE_COUNTS;
    for (const n of counts) if (n.jobId === row.jobId && n.waveIndex === row.index) c = addCount(c, n.status as TaskStatus, n.reason, n.n);
    const list = out.get(row.jobId) ?? [];
    list.push({
      row,
      index: row.index,
      name: row.name,
      status: row.status,
      successThresholdPercent: row.successThresholdPercent,
      errorThresholdPercent: row.errorThresholdPercent,
      errorMinFinished: row.errorMinFinished,
      soakMinutes: row.soakMinutes,
      approvalRequired: row.approvalRequired,
      startedAt: row.startedAt,
      thresholdReachedAt: row.thresholdReachedAt,
      counts: c,
    });
    out.set(row.jobId, list);
  }
  return out;
}

/**
 * Writes the rollout's decisions for a job locked FOR UPDATE by the caller (so two instances take
 * turns, and the second finds the wave moved on). Returns the job as it then is.
 */
export async function applyRolloutDecisions({ tx, emit }: TransactionScope, job: JobRow, decisions: readonly RolloutDecision[]): Promise<JobRow> {
  let current = job;
  const now = new Date();
  for (const d of decisions) {
    switch (d.kind) {
      case 'WAVE_STARTED':
        await startWave(tx, current, d.wave, d.reason, ROLLOUT_ENGINE, null);
        current = { ...current, activeWave: d.wave };
        break;
      case 'THRESHOLD_REACHED':
      case 'SOAK_ENDED':
        await tx
          .update(jobWaves)
          .set({
            status: d.next,
            ...(d.kind === 'THRESHOLD_REACHED' ? { thresholdReachedAt: now } : {}),
            ...(d.next === 'PASSED' ? { finishedAt: now } : {}),
          })
          .where(and(eq(jobWaves.jobId, job.id), eq(jobWaves.index, d.wave)));
        await recordDecision(tx, current, d.wave, d.kind, ROLLOUT_ENGINE, null, d.reason);
        break;
      case 'APPROVAL_REQUESTED': {
        const [waiting] = await tx
          .update(otaJobs)
          .set({ status: 'WAITING_FOR_APPROVAL', statusReason: d.reason, updatedAt: now })
          .where(and(eq(otaJobs.id, job.id), eq(otaJobs.status, 'RUNNING')))
          .returning();
        if (!waiting) break;
        current = waiting;
        await recordDecision(tx, current, d.wave, d.kind, ROLLOUT_ENGINE, null, d.reason);
        await queueJobStatusChanged(tx, job.id, { previousStatus: 'RUNNING', change: 'WAITING_FOR_APPROVAL', reason: d.reason });
        break;
      }
      case 'ERROR_THRESHOLD_CROSSED':
      case 'ENDED_BELOW_THRESHOLD': {
        await tx
          .update(jobWaves)
          .set({ status: 'FAILED', finishedAt: now })
          .where(and(eq(jobWaves.jobId, job.id), eq(jobWaves.index, d.wave)));
        await recordDecision(tx, current, d.wave, d.kind, ROLLOUT_ENGINE, null, d.reason);
        if (d.kind === 'ENDED_BELOW_THRESHOLD' && !d.stopsJob) break;
        const reason = `Stopped by the rollout: ${d.reason}`;
        const [stopped] = await tx
          .update(otaJobs)
          .set({ status: 'STOPPED', statusReason: reason, updatedAt: now })
          .where(and(eq(otaJobs.id, job.id), sql`${otaJobs.status} in ('RUNNING', 'WAITING_FOR_APPROVAL')`))
          .returning();
        if (stopped) {
          await queueJobStatusChanged(tx, job.id, { previousStatus: current.status, change: 'ABORTED', reason });
          current = stopped;
        }
        break;
      }
    }
  }
  if (decisions.length > 0) jobEvents(current, 'rollout moved').forEach(emit);
  return current;
}

/**
 * approveNextWave: the job waits for approval after its active wave (or that wave stopped the job
 * and a person decides to go on anyway): the wave passes, the next one starts, the job runs.
 * `wave` (the index of the wave to start), when given, must be that next wave: two people
 * approving at once start it once, and the second is told.
 */
export async function approveNextWave(scope: TransactionScope, caller: Caller, jobId: string, wave?: number | null): Promise<JobRow> {
  requirePermission(caller, 'OTA_CONTROL');
  const { tx, emit } = scope;
  const job = await lockJob(tx, caller, jobId);
  if (job.activeWave === null) throw new InvalidJobStateError('approve the next wave of', 'without a rollout plan');
  const waves = (await loadWaveStates(tx, [job.id])).get(job.id) ?? [];
  const active = waves.find((w) => w.index === job.activeWave)!;
  const next = waves.find((w) => w.index === job.activeWave! + 1);
  const waiting = job.status === 'WAITING_FOR_APPROVAL' && active.status === 'WAITING_FOR_APPROVAL';
  const overriding = job.status === 'STOPPED' && active.status === 'FAILED';
  if (!waiting && !overriding) {
    throw new InvalidJobStateError(
      'approve the next wave of',
      job.status === 'RUNNING' ? `RUNNING (wave ${active.index + 1} is ${active.status})` : job.status,
    );
  }
  if (!next) throw new InvalidJobStateError('approve the next wave of', `on its last wave (${active.name})`);
  if (wave !== null && wave !== undefined && wave !== next.index) {
    throw InvalidInputError.single(['wave'], `the next wave is ${next.index} (${next.name}), not ${wave}`);
  }
  const now = new Date();
  await tx
    .update(jobWaves)
    .set({ status: 'PASSED', finishedAt: now, approvedAt: now, approvedBy: caller.displayName })
    .where(and(eq(jobWaves.jobId, job.id), eq(jobWaves.index, active.index)));
  const why = overriding ? `approved the next wave although ${active.name} failed` : `approved the next wave after ${active.name}`;
  await recordDecision(tx, job, active.index, 'APPROVED', caller.displayName, caller.userId, `${caller.displayName} ${why}`);
  await startWave(tx, job, next.index, `approved by ${caller.displayName}`, caller.displayName, caller.userId);
  const [running] = await tx.update(otaJobs).set({ status: 'RUNNING', statusReason: null, updatedAt: now }).where(eq(otaJobs.id, job.id)).returning();
  jobEvents(running, 'wave approved').forEach(emit);
  await queueJobStatusChanged(tx, job.id, { previousStatus: job.status, change: 'RESUMED', reason: `${caller.displayName} ${why}` });
  return running;
}

/**
 * startJob of a job whose active wave stopped it: the wave runs again and its thresholds are
 * looked at afresh (retry its failed devices, or the error threshold stops the job again).
 */
export async function resumeFailedWave(tx: Executor, job: JobRow, caller: Caller): Promise<void> {
  if (job.activeWave === null) return;
  const resumed = await tx
    .update(jobWaves)
    .set({ status: 'RUNNING', finishedAt: null })
    .where(and(eq(jobWaves.jobId, job.id), eq(jobWaves.index, job.activeWave), eq(jobWaves.status, 'FAILED')))
    .returning({ index: jobWaves.index });
  if (resumed.length > 0) {
    await recordDecision(tx, job, job.activeWave, 'WAVE_RESUMED', caller.displayName, caller.userId, `${caller.displayName} started the job again`);
  }
}

export interface RolloutDecisionRow {
  waveIndex: number;
  kind: string;
  actor: string;
  reason: string;
  decidedAt: Date;
}

/** The job's rollout decisions, oldest first. */
export function loadRolloutDecisions(db: Executor, jobId: string): Promise<RolloutDecisionRow[]> {
  return db
    .select({
      waveIndex: jobRolloutDecisions.waveIndex,
      kind: jobRolloutDecisions.kind,
      actor: jobRolloutDecisions.actor,
      reason: jobRolloutDecisions.reason,
      decidedAt: jobRolloutDecisions.decidedAt,
    })
    .from(jobRolloutDecisions)
    .where(eq(jobRolloutDecisions.jobId, jobId))
    .orderBy(asc(jobRolloutDecisions.id));
}
