/**
 * scheduleRollout for one running job: push as many waiting devices as the job may push now.
 *
 * Concurrency across instances: the pushes of one organisation unit are serialised by a
 * transaction-scoped advisory lock (an instance that finds it taken skips the unit: the holder is
 * pushing already, and the next sweep looks again). Inside the lock the in-flight counts are read
 * fresh, so "Pushed + In Progress ≤ maxConcurrency" per job and "≤ the unit's cap" across its jobs
 * hold whatever the number of instances: only a push adds to them, and pushes take turns. The job
 * row is read FOR SHARE, so a stop or an edit waits for the push to commit, or the push sees it.
 *
 * At push time each candidate is checked (DESIGN §3): a device that no longer exists fails
 * DEVICE_NOT_FOUND, one whose version left the job's source versions VERSION_NOT_IN_SCOPE, one
 * with a task in flight in another job LAST_UPGRADE_IN_PROGRESS. Only online devices are pushed.
 */
import { and, eq, sql } from 'drizzle-orm';
import { otaJobs, type WaitingReason } from '../db/schema.js';
import { jobEvents } from '../domain/jobs/events.js';
import type { JobRow } from '../domain/jobs/settings-view.js';
import { queryRows } from '../db/sql.js';
import { inTransaction } from '../domain/transaction.js';
import { newMessageId, type DeviceCommands } from '../devices/commands.js';
import type { AppServices } from '../services.js';
import { decideRollout } from '../domain/jobs/wave-rules.js';
import { loadWaveStates } from '../domain/jobs/waves.js';
import { pushWindowOpen } from './schedule-window.js';
import { abortCounts, abortThresholdCrossed } from './settle.js';
import { decide, jobContextOfJob, TASK_STATE_COLUMNS, type TaskStateRow } from '../domain/tasks/decide.js';
import type { PushTimeFailure } from '../domain/tasks/transitions.js';
import { changesByJob, writeTaskChanges } from '../domain/tasks/write.js';

/** Advisory lock namespace of the per-unit push lock (the second key is the unit's hash). */
const PUSH_LOCK_SPACE = 727_010;
/** Tasks pushed per transaction at most, so a big job does not hold its locks for long. */
export const PUSH_CHUNK = 500;

export interface PushOutcome {
  /** False when another instance held the unit's push lock. */
  ran: boolean;
  pushed: number;
  failedAtPush: number;
  /** More waiting devices may be pushable right now (call again). */
  more: boolean;
  /** Why the job's online waiting devices were not pushed, if something held them back. */
  limit: Extract<WaitingReason, 'OUTSIDE_WINDOW' | 'RATE_LIMIT' | 'CONCURRENCY_LIMIT'> | null;
}

interface Capacity {
  job_in_flight: number | string;
  ou_in_flight: number | string;
  ou_cap: number | string | null;
  pushed_recently: number | string;
}

interface Candidate extends TaskStateRow {
  device_version: string | null;
  missing: boolean;
  busy: boolean;
}

export interface PushSettings {
  ouConcurrencyCap: number;
  minuteMs: number;
}

/** One transaction: at most PUSH_CHUNK pushes. Call again while it reports a full chunk. */
export async function pushWaitingTasks(services: AppServices, commands: DeviceCommands, jobId: string, settings: PushSettings): Promise<PushOutcome> {
  const sends: { productKey: string; deviceKey: string; messageId: string; job: JobRow; firmware: FirmwareRow }[] = [];
  const outcome = await inTransaction(services, async ({ tx, emit }): Promise<PushOutcome> => {
    const [job] = await queryRows<{ id: string; ou_id: string }>(tx, sql`select id, ou_id from ota_jobs where id = ${jobId}`);
    if (!job) return { ran: true, pushed: 0, failedAtPush: 0, more: false, limit: null };
    const [lock] = await queryRows<{ locked: boolean }>(tx, sql`select pg_try_advisory_xact_lock(${PUSH_LOCK_SPACE}, hashtext(${job.ou_id})) as locked`);
    if (!lock.locked) return { ran: false, pushed: 0, failedAtPush: 0, more: false, limit: null };
    // Under a share lock: a concurrent stop or edit waits for this push, or this push sees it.
    const [running] = await tx
      .select()
      .from(otaJobs)
      .where(and(eq(otaJobs.id, jobId), eq(otaJobs.status, 'RUNNING')))
      .for('share');
    if (!running) return { ran: true, pushed: 0, failedAtPush: 0, more: false, limit: null };
    const now = new Date();
    if (!pushWindowOpen(running, now)) return { ran: true, pushed: 0, failedAtPush: 0, more: false, limit: 'OUTSIDE_WINDOW' };
    // A job past its abort threshold pushes no one more: the settle step of this pass stops it.
    if (running.abortThresholdPercent !== null && running.type !== 'VERIFICATION' && abortThresholdCrossed(running, await abortCounts(tx, jobId))) {
      return { ran: true, pushed: 0, failedAtPush: 0, more: false, limit: null };
    }

    // A rollout plan: only the devices of started waves, never past a wave whose error threshold is crossed.
    let pushableWave: number | null = null;
    if (running.activeWave !== null) {
      const waves = (await loadWaveStates(tx, [jobId])).get(jobId) ?? [];
      // Nor while the rollout is about to stop the job or wait for an approval (the wave step writes it).
      const holds = new Set(['ERROR_THRESHOLD_CROSSED', 'ENDED_BELOW_THRESHOLD', 'APPROVAL_REQUESTED']);
      if (decideRollout(running, waves, now, settings.minuteMs).some((d) => holds.has(d.kind) && !(d.kind === 'ENDED_BELOW_THRESHOLD' && !d.stopsJob))) {
        return { ran: true, pushed: 0, failedAtPush: 0, more: false, limit: null };
      }
      const active = waves.find((w) => w.index === running.activeWave);
      pushableWave = !active || active.status === 'PENDING' || active.status === 'FAILED' ? running.activeWave - 1 : running.activeWave;
      if (pushableWave < 0) return { ran: true, pushed: 0, failedAtPush: 0, more: false, limit: null };
    }

    const rateWindowMs = settings.minuteMs;
    const [capacity] = await queryRows<Capacity>(
      tx,
      sql`select
            (select count(*) from job_tasks where job_id = ${jobId} and status in ('PUSHED', 'IN_PROGRESS')) as job_in_flight,
            (select count(*) from job_tasks t
              where t.status in ('PUSHED', 'IN_PROGRESS')
                and t.job_id in (select id from ota_jobs where ou_id = ${running.ouId} and status <> 'FINISHED')) as ou_in_flight,
            (select concurrency_cap from organisation_units where id = ${running.ouId}) as ou_cap,
            ${
              running.pushRatePerMinute !== null
                ? sql`(select count(*) from job_tasks where job_id = ${jobId}
                        and pushed_at > now() - make_interval(secs => ${rateWindowMs / 1000}))`
                : sql`0`
            } as pushed_recently`,
    );
    const ouCap = capacity.ou_cap === null ? settings.ouConcurrencyCap : Number(capacity.ou_cap);
    const concurrencyRoom = Math.min(running.maxConcurrency - Number(capacity.job_in_flight), ouCap - Number(capacity.ou_in_flight));
    const rateRoom = running.pushRatePerMinute === null ? Infinity : running.pushRatePerMinute - Number(capacity.pushed_recently);
    const rateBound = rateRoom < concurrencyRoom;
    const room = Math.min(concurrencyRoom, rateRoom);
    const roomLimit = rateBound ? 'RATE_LIMIT' : 'CONCURRENCY_LIMIT';
    if (room <= 0) return { ran: true, pushed: 0, failedAtPush: 0, more: false, limit: roomLimit };
    const want = Math.min(room, PUSH_CHUNK);

    const candidates = await queryRows<Candidate>(
      tx,
      sql`select ${TASK_STATE_COLUMNS}, d.firmware_version as device_version, (d.id is null) as missing,
                 exists (select 1 from job_tasks o
                         where o.device_id = t.device_id and o.status in ('PUSHED', 'IN_PROGRESS') and o.id <> t.id) as busy
          from job_tasks t left join devices d on d.id = t.device_id
          where t.job_id = ${jobId} and t.status = 'TO_BE_PUSHED'
            and (t.next_attempt_at is null or t.next_attempt_at <= now())
            and (d.id is null or d.online)
            ${pushableWave === null ? sql`` : sql`and t.wave_index is not null and t.wave_index <= ${pushableWave}`}
          order by ${pushableWave === null ? sql`t.device_key` : sql`t.wave_index, t.wave_order, t.device_key`}
          limit ${want}
          for update of t skip locked`,
    );
    if (candidates.length === 0) return { ran: true, pushed: 0, failedAtPush: 0, more: false, limit: null };

    const [firmware] = await queryRows<FirmwareRow>(
      tx,
      sql`select f.id, f.version, f.sign, f.sign_method, f.size, p.product_key
          from firmwares f join products p on p.id = f.product_id where f.id = ${running.firmwareId}`,
    );
    const sourceVersions = new Set(running.srcVersions);
    const refusal = (c: Candidate): { reason: PushTimeFailure; detail: string } | undefined => {
      if (c.missing) return { reason: 'DEVICE_NOT_FOUND', detail: 'The device does not exist in the product (any more)' };
      if (sourceVersions.size > 0 && !sourceVersions.has(c.device_version ?? '')) {
        return { reason: 'VERSION_NOT_IN_SCOPE', detail: `Device version ${c.device_version ?? '(unknown)'} is not among ${running.srcVersions.join(', ')}` };
      }
      if (c.busy) return { reason: 'LAST_UPGRADE_IN_PROGRESS', detail: 'The device is already upgrading in another job' };
      return undefined;
    };
    const decided = decide(
      candidates,
      (c) => ({ type: 'push', messageId: newMessageId('p'), timeoutMinutes: running.timeoutMinutes, refusedBy: refusal(c) }),
      () => jobContextOfJob(running, settings.minuteMs, pushableWave),
    );
    const written = await writeTaskChanges(tx, decided.changes);
    const pushed = written.filter((w) => w.kind === 'pushed');
    const failedAtPush = written.length - pushed.length;
    const messageIds = new Map(decided.changes.map((c) => [c.id, c.update.kind === 'pushed' ? c.update.messageId : '']));
    const changed = changesByJob(written).get(jobId);
    if (changed) jobEvents(running, 'pushed', changed).forEach(emit);

    for (const p of pushed) sends.push({ productKey: firmware.product_key, deviceKey: p.deviceKey, messageId: messageIds.get(p.id)!, job: running, firmware });
    // A full page means there may be more waiting devices; if the room is used up they wait for it.
    const more = candidates.length === want;
    const roomLeft = room - pushed.length;
    return { ran: true, pushed: pushed.length, failedAtPush, more: more && roomLeft > 0, limit: more && roomLeft <= 0 ? roomLimit : null };
  });
  // After the commit: a push the device receives is always one the database knows about.
  for (const s of sends) {
    commands.upgrade(
      s.productKey,
      s.deviceKey,
      s.messageId,
      commands.upgradeParams(s.job.id, {
        id: s.firmware.id,
        version: s.firmware.version,
        sign: s.firmware.sign,
        signMethod: s.firmware.sign_method,
        size: Number(s.firmware.size),
      }),
    );
  }
  return outcome;
}

interface FirmwareRow {
  id: string;
  version: string;
  sign: string;
  sign_method: 'MD5' | 'SHA256';
  size: number | string;
  product_key: string;
}
