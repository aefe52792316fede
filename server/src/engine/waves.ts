/**
 * The rollout step of a job with a rollout plan (issue 16): start its first wave once it runs, move
 * the active wave on when its success threshold is reached (after its soak time, or into
 * WAITING_FOR_APPROVAL at an approval gate), stop the job on the active wave's error threshold.
 * Decided by domain/jobs/wave-rules.ts decideRollout, written by domain/jobs/waves.ts.
 *
 * Several instances: the job row is locked (NO KEY UPDATE, skipped when another instance holds it)
 * before the waves are read, and the push step reads the job FOR SHARE: a wave starts once, and a
 * push sees either the wave before or after it moved, never half of it.
 */
import { eq } from 'drizzle-orm';
import { otaJobs } from '../db/schema.js';
import type { JobRow } from '../domain/jobs/settings-view.js';
import { decideRollout, type RolloutDecision } from '../domain/jobs/wave-rules.js';
import { applyRolloutDecisions, loadWaveStates } from '../domain/jobs/waves.js';
import { inTransaction, type TransactionScope } from '../domain/transaction.js';
import type { AppServices } from '../services.js';

/** For a job the caller locked: decides and writes. Returns the job as it then is and what was decided. */
export async function advanceLockedRollout(scope: TransactionScope, job: JobRow, minuteMs: number): Promise<{ job: JobRow; decisions: RolloutDecision[] }> {
  if (job.activeWave === null) return { job, decisions: [] };
  const waves = (await loadWaveStates(scope.tx, [job.id])).get(job.id) ?? [];
  const decisions = decideRollout(job, waves, new Date(), minuteMs);
  if (decisions.length === 0) return { job, decisions };
  return { job: await applyRolloutDecisions(scope, job, decisions), decisions };
}

export async function advanceRollout(services: AppServices, jobId: string): Promise<RolloutDecision[]> {
  return inTransaction(services, async (scope) => {
    const [job] = await scope.tx.select().from(otaJobs).where(eq(otaJobs.id, jobId)).for('no key update', { skipLocked: true });
    if (!job) return [];
    return (await advanceLockedRollout(scope, job, services.config.engineMinuteMs)).decisions;
  });
}
