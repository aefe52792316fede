/**
 * Turns one batch of device reports into database changes, in one transaction: the devices'
 * presence and versions, and their tasks' progress, success and failures (DESIGN §3, §4).
 *
 * Four steps: **load** the devices the batch names and their tasks in flight, locked (in id
 * order); **replay** each device's messages in arrival order against that state (report-replay.ts,
 * pure, through the task state machine); **write** every device and every changed task once (the
 * task writer's UPDATE is conditional on the status each change was decided from, so a cancel that
 * got there first wins and nothing moves backwards); **reply**: the answers to send once the batch
 * has committed, and the domain events it causes.
 */
import { sql } from 'drizzle-orm';
import { preparedRows, queryRows } from '../db/sql.js';
import { jobEvents } from '../domain/jobs/events.js';
import { changesByJob, type WrittenChange, writeTaskChanges } from '../domain/tasks/write.js';
import type { TransactionScope } from '../domain/transaction.js';
import type { DeviceCommands } from './commands.js';
import { encodeReply, otaReplyTopic, REPLY_CODE } from './protocol.js';
import { type DeviceRow, type LoadedReportState, type ReplayPlan, type ReplaySettings, type ReportItem, replayReports, type TaskRow } from './report-replay.js';

export interface OutgoingReply {
  topic: string;
  payload: Buffer;
}

export interface BatchSettings extends ReplaySettings {
  commands: DeviceCommands;
}

export interface BatchResult {
  replies: OutgoingReply[];
  /** Counter name → increment, for what the batch saw. */
  counts: Map<string, number>;
  /** Seconds from push to first progress of each task that reported its first progress. */
  pushToFirstProgress: number[];
  /** Reports that wait for earlier ones of their device (report-replay.ts): neither answered nor to acknowledge. */
  held: ReportItem[];
}

export async function applyReportBatch(scope: TransactionScope, items: readonly ReportItem[], settings: BatchSettings): Promise<BatchResult> {
  const loaded = await loadReportState(scope, items);
  const plan = replayReports(loaded, items, settings);
  const written = await writeReportPlan(scope, plan);
  emitReportEvents(scope, loaded, plan, written.tasks);
  return {
    replies: replies(plan, written.waitingDevices, settings.commands),
    counts: countWrites(plan.counts, written.tasks),
    held: plan.held,
    pushToFirstProgress: firstProgressDelays(loaded, written.tasks),
  };
}

/** The devices the batch names and their tasks in flight, locked for the rest of the transaction. */
async function loadReportState({ tx }: TransactionScope, items: readonly ReportItem[]): Promise<LoadedReportState> {
  const addresses = new Map(items.map(({ message: m }) => [`${m.productKey}/${m.deviceKey}`, { pk: m.productKey, dk: m.deviceKey }]));
  const found = JSON.stringify([...addresses.values()]);
  // Both statements are sent at once (postgres.js pipelines them on the transaction's connection;
  // the database runs them in order, devices first): one round trip instead of two.
  const [devices, tasks] = await Promise.all([
    preparedRows<DeviceRow>(
      tx,
      sql`select d.id, d.ou_id, d.product_id, p.product_key, d.device_key, d.firmware_version, d.online, d.last_seen_at,
                 d.report_session, d.report_seq
          from jsonb_to_recordset(${found}::jsonb) as x(pk text, dk text)
          join products p on p.product_key = x.pk collate "C"
          join devices d on d.product_id = p.id and d.device_key = x.dk collate "C"
          order by d.id
          for no key update of d`,
    ),
    preparedRows<TaskRow>(
      tx,
      sql`select t.id, t.job_id, t.device_id, t.status, t.progress, t.attempt, t.push_message_id, t.current_version,
                 t.waiting_reason, t.failure_reason, t.timeout_at, t.wave_index, t.pushed_at,
                 j.ou_id, j.product_id, j.status as job_status, j.retry_count, j.retry_interval_minutes, j.active_wave, j.firmware_id,
                 f.version as target_version, f.sign, f.sign_method, f.size
          from jsonb_to_recordset(${found}::jsonb) as x(pk text, dk text)
          join products p on p.product_key = x.pk collate "C"
          join devices d on d.product_id = p.id and d.device_key = x.dk collate "C"
          join job_tasks t on t.device_id = d.id and t.status in ('PUSHED', 'IN_PROGRESS')
          join ota_jobs j on j.id = t.job_id join firmwares f on f.id = j.firmware_id
          order by t.id
          for no key update of t`,
    ),
  ]);
  return { devices, tasks };
}

/**
 * Devices first: the task writes take the job's change-order lock, held until the commit, so the
 * less done after them, the sooner a concurrent batch of the same job may write its own. All
 * statements are sent together (pipelined: one round trip; the database runs them in order).
 */
async function writeReportPlan({ tx }: TransactionScope, plan: ReplayPlan): Promise<{ tasks: WrittenChange[]; waitingDevices: Set<string> }> {
  const deviceWrite =
    plan.deviceWrites.length === 0
      ? Promise.resolve([])
      : preparedRows(
          tx,
          sql`update devices d set online = x.online, firmware_version = x.version, last_seen_at = x.seen,
                report_session = x.session, report_seq = x.seq
              from jsonb_to_recordset(${JSON.stringify(plan.deviceWrites)}::jsonb) as x(id uuid, online boolean, version text, seen timestamptz, session text, seq bigint)
              where d.id = x.id`,
        );
  const [, tasks] = await Promise.all([deviceWrite, writeTaskChanges(tx, plan.taskChanges)]);
  // Progress from devices without a task in flight: 765 if one waits to be pushed, else 764. Read
  // after the task writes, so a task this batch sent back to To be Pushed counts as waiting.
  const waitingDevices = new Set<string>();
  if (plan.progressWithoutTask.length > 0) {
    const devices = plan.progressWithoutTask.map((p) => p.device);
    const waiting = await queryRows<{ product_id: string; device_key: string }>(
      tx,
      sql`select distinct j.product_id, t.device_key
          from ota_jobs j join job_tasks t on t.job_id = j.id
          where j.product_id in (select jsonb_array_elements_text(${JSON.stringify([...new Set(devices.map((d) => d.product_id))])}::jsonb)::uuid)
            and j.status not in ('FINISHED', 'CANCELLED')
            and t.device_key in (select jsonb_array_elements_text(${JSON.stringify(devices.map((d) => d.device_key))}::jsonb) collate "C")
            and t.status = 'TO_BE_PUSHED'`,
    );
    for (const w of waiting) waitingDevices.add(`${w.product_id}/${w.device_key}`);
  }
  return { tasks, waitingDevices };
}

function emitReportEvents({ emit }: TransactionScope, loaded: LoadedReportState, plan: ReplayPlan, written: readonly WrittenChange[]): void {
  const jobs = new Map(loaded.tasks.map((t) => [t.job_id, { id: t.job_id, ouId: t.ou_id, productId: t.product_id }]));
  const ended = new Set(written.filter((w) => w.kind !== 'progress' && w.kind !== 'version').map((w) => w.jobId));
  for (const [jobId, changed] of changesByJob(written)) {
    // Progress alone frees no room and ends nothing: the engine need not look again for it.
    jobEvents(jobs.get(jobId)!, 'device reports', changed)
      .filter((event) => event.topic !== 'engine:kick' || ended.has(jobId))
      .forEach(emit);
  }
  for (const kick of plan.kicks) emit({ topic: 'engine:kick', args: [kick] });
}

function replies(plan: ReplayPlan, waitingDevices: ReadonlySet<string>, commands: DeviceCommands): OutgoingReply[] {
  const out: OutgoingReply[] = [];
  for (const r of plan.replies) {
    const data =
      'pendingPush' in r
        ? r.pendingPush
          ? [
              commands.upgradeParams(r.pendingPush.job_id, {
                id: r.pendingPush.firmware_id,
                version: r.pendingPush.target_version,
                sign: r.pendingPush.sign,
                signMethod: r.pendingPush.sign_method,
                size: Number(r.pendingPush.size),
              }),
            ]
          : []
        : (r.data ?? {});
    const code = 'pendingPush' in r ? REPLY_CODE.OK : r.code;
    out.push({ topic: otaReplyTopic(r.message.productKey, r.message.deviceKey, r.kind), payload: encodeReply(r.id, code, data) });
  }
  for (const { message, device } of plan.progressWithoutTask) {
    const notStarted = waitingDevices.has(`${device.product_id}/${device.device_key}`);
    const code = notStarted ? REPLY_CODE.TASK_NOT_STARTED : REPLY_CODE.NO_TASK;
    bump(plan.counts, `updraft_device_progress_rejected_total{code="${code}"}`);
    out.push({
      topic: otaReplyTopic(message.productKey, message.deviceKey, 'progress'),
      payload: encodeReply(message.request.id, code, {
        message: notStarted ? 'the upgrade has not been pushed to this device yet' : 'no upgrade task for this device',
      }),
    });
  }
  return out;
}

function countWrites(counts: Map<string, number>, written: readonly WrittenChange[]): Map<string, number> {
  for (const w of written) bump(counts, `updraft_task_transitions_total{kind="${w.kind}"}`);
  return counts;
}

/** Tasks that went from Pushed to In Progress in this batch: how long their devices took. */
function firstProgressDelays(loaded: LoadedReportState, written: readonly WrittenChange[]): number[] {
  const out: number[] = [];
  const now = Date.now();
  const before = new Map(loaded.tasks.map((t) => [String(t.id), t]));
  for (const w of written) {
    if (w.kind !== 'progress') continue;
    const task = before.get(String(w.id));
    if (task?.status === 'PUSHED' && task.pushed_at) out.push(Math.max(0, now - new Date(task.pushed_at).getTime()) / 1000);
  }
  return out;
}

function bump(counts: Map<string, number>, name: string): void {
  counts.set(name, (counts.get(name) ?? 0) + 1);
}
