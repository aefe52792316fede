/**
 * previewUpgradeJob: what createUpgradeJob would make of an input, before the job exists — how
 * many and which devices the scope matches and how many land in each wave. It runs createUpgradeJob
 * itself in a transaction that is then rolled back, so the preview can never disagree with the job
 * (same validation, same scope SQL, same assignment); nothing is kept and no event is published.
 * Costs what creating the job costs (docs/domain-rules.md "Phased rollouts").
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { queryRows } from '../../db/sql.js';
import type { Caller } from '../caller.js';
import { type CreateUpgradeJobInput, createUpgradeJob } from './create.js';

export const PREVIEW_SAMPLE_MAX = 100;

export interface UpgradeJobPreview {
  deviceCount: number;
  /** Listed device keys with no device (their tasks would fail DEVICE_NOT_FOUND at once). */
  notFoundCount: number;
  /** The seed the job would record (given, or drawn for random order). */
  seed: number | null;
  /** The first devices in rollout order (device-key order without a plan). */
  sampleDeviceKeys: string[];
  waves: { index: number; name: string; deviceCount: number; sampleDeviceKeys: string[] }[];
}

class RolledBack extends Error {
  constructor(readonly preview: UpgradeJobPreview) {
    super('preview rolled back');
  }
}

export async function previewUpgradeJob(db: Database, caller: Caller, input: CreateUpgradeJobInput, sampleSize: number): Promise<UpgradeJobPreview> {
  const sample = Math.max(0, Math.min(PREVIEW_SAMPLE_MAX, sampleSize));
  try {
    await db.transaction(async (tx) => {
      const job = await createUpgradeJob({ tx, emit: () => {} }, caller, input);
      const [totals] = await queryRows<{ n: number | string; not_found: number | string }>(
        tx,
        sql`select count(*) as n, count(*) filter (where failure_reason = 'DEVICE_NOT_FOUND') as not_found from job_tasks where job_id = ${job.id}`,
      );
      const first = await queryRows<{ device_key: string }>(
        tx,
        sql`select device_key from job_tasks where job_id = ${job.id} order by wave_index nulls first, wave_order, device_key limit ${sample}`,
      );
      const waves = await queryRows<{ index: number; name: string; n: number | string; keys: string[] | null }>(
        tx,
        sql`select w.index, w.name, (select count(*) from job_tasks t where t.job_id = w.job_id and t.wave_index = w.index) as n,
                   array(select t.device_key from job_tasks t where t.job_id = w.job_id and t.wave_index = w.index
                         order by t.wave_order, t.device_key limit ${sample}) as keys
            from job_waves w where w.job_id = ${job.id} order by w.index`,
      );
      throw new RolledBack({
        deviceCount: Number(totals.n),
        notFoundCount: Number(totals.not_found),
        seed: job.rolloutSeed,
        sampleDeviceKeys: first.map((r) => r.device_key),
        waves: waves.map((w) => ({ index: w.index, name: w.name, deviceCount: Number(w.n), sampleDeviceKeys: w.keys ?? [] })),
      });
    });
  } catch (error) {
    if (error instanceof RolledBack) return error.preview;
    throw error;
  }
  throw new Error('previewUpgradeJob: the transaction was not rolled back');
}
