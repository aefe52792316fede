/**
 * Which devices a job targets, in SQL over the job's own row, so that creation, editing and the
 * engine (INCREMENTAL jobs taking in devices that come to match) share one definition:
 *
 * - DEVICE_KEYS: every listed key gets a task. A key with no device becomes a failed task
 *   (DEVICE_NOT_FOUND); a device whose version is not among srcVersions is still a task and fails
 *   VERSION_NOT_IN_SCOPE when the engine comes to push it, so the operator sees every named device.
 * - ALL: the product's devices whose version is among srcVersions (if any), whose tags match
 *   (all keys, any listed value per key), and which are not already on the target version.
 */
import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { queryRows } from '../../db/sql.js';
import { decide, JOB_CONTEXT_COLUMNS, type JobContextRow, jobContextOf, TASK_STATE_COLUMNS, type TaskStateRow } from '../tasks/decide.js';
import { type WrittenChange, writeTaskChanges } from '../tasks/write.js';

/** SQL: device `d` is targeted by job `j` whose firmware is `f` (aliases fixed by the callers below). */
const DEVICE_IN_SCOPE = sql.raw(`
  d.product_id = j.product_id and (
    case when j.target_mode = 'DEVICE_KEYS' then d.device_key = any(j.target_device_keys)
    else (cardinality(j.src_versions) = 0 or d.firmware_version = any(j.src_versions))
      and d.firmware_version is distinct from f.version
      and not exists (
        select 1 from jsonb_array_elements(j.target_tags) wanted
        where not exists (
          select 1 from jsonb_array_elements(j.target_tags) alt
          where alt->>'key' = wanted->>'key' and d.tags->>(wanted->>'key') = alt->>'value'))
    end)`);

/**
 * The wave of a task added after creation (an INCREMENTAL job's late joiner, a widened scope): the
 * last wave, the last one to finish. Null for a job without a rollout plan. (At creation the
 * plan's assignment then places every task: domain/jobs/waves.ts.)
 */
const LAST_WAVE = sql.raw('(select max(w.index) from job_waves w where w.job_id = j.id)');

export interface MaterialisedTargets {
  /** Tasks added for targeted devices that had none. */
  added: number;
  /** Failed tasks added for listed keys with no device. */
  notFound: number;
}

/**
 * Adds a task for every targeted device (and a failed one for every listed key without a device)
 * that the job does not have yet. Idempotent: an existing task of a device is never touched.
 */
export async function materialiseTargets(tx: Executor, jobId: string): Promise<MaterialisedTargets> {
  const [added] = await queryRows<{ n: number | string }>(
    tx,
    sql`with inserted as (
          insert into job_tasks (ou_id, job_id, device_id, device_key, src_version, current_version, wave_index)
          select j.ou_id, j.id, d.id, d.device_key, d.firmware_version, d.firmware_version, ${LAST_WAVE}
          from ota_jobs j join firmwares f on f.id = j.firmware_id join devices d on ${DEVICE_IN_SCOPE}
          where j.id = ${jobId}
          on conflict (job_id, device_key) do nothing
          returning 1)
        select count(*) as n from inserted`,
  );
  const [notFound] = await queryRows<{ n: number | string }>(
    tx,
    sql`with inserted as (
          insert into job_tasks (ou_id, job_id, device_key, status, failure_reason, failure_detail, failed_at, finished_at, wave_index)
          select j.ou_id, j.id, k.key, 'FAILED', 'DEVICE_NOT_FOUND',
                 'No device with this key exists in the product', now(), now(), ${LAST_WAVE}
          from ota_jobs j cross join lateral unnest(j.target_device_keys) as k(key)
          where j.id = ${jobId} and j.target_mode = 'DEVICE_KEYS'
            and not exists (select 1 from devices d where d.product_id = j.product_id and d.device_key = k.key)
          on conflict (job_id, device_key) do nothing
          returning 1)
        select count(*) as n from inserted`,
  );
  return { added: Number(added.n), notFound: Number(notFound.n) };
}

/**
 * Removes the tasks still To be Pushed whose device the job no longer targets (a narrowed scope);
 * the writer logs each removal for subscribers. Tasks already pushed or final stay.
 */
export async function removeUntargetedTasks(tx: Executor, jobId: string): Promise<WrittenChange[]> {
  const rows = await queryRows<TaskStateRow & JobContextRow>(
    tx,
    sql`select ${TASK_STATE_COLUMNS}, ${JOB_CONTEXT_COLUMNS} from job_tasks t join ota_jobs j on j.id = t.job_id join firmwares f on f.id = j.firmware_id
        where j.id = ${jobId} and t.status = 'TO_BE_PUSHED'
          and not (
            (j.target_mode = 'DEVICE_KEYS' and t.device_key = any(j.target_device_keys))
            or exists (select 1 from devices d where d.id = t.device_id and ${DEVICE_IN_SCOPE}))
        order by t.id
        for update of t`,
  );
  // Leaving the scope involves no duration.
  const { changes } = decide(
    rows,
    () => ({ type: 'scopeLeft' }),
    (r) => jobContextOf(r, 0),
  );
  return writeTaskChanges(tx, changes);
}
