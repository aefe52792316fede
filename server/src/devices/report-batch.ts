/**
 * Turns one batch of device reports into database changes, in one transaction: the devices'
 * presence and versions, and their tasks' progress, success and failures (DESIGN §3, §4).
 *
 * The batch locks the devices it names and their tasks in flight (in id order), replays each
 * device's messages in arrival order against that state in memory, then writes every device and
 * every task once. Each task write is conditional on the status it was read in, so a cancel that
 * got there first wins, and nothing moves a task backwards: progress only grows, a final state is
 * final, duplicates and stale reports change nothing.
 */
import { sql } from 'drizzle-orm';
import type { FailureReason, JobStatus, SignMethod, TaskStatus } from '../db/schema.js';
import { jobEvents } from '../domain/jobs/events.js';
import { queryRows } from '../domain/sql.js';
import { preparedRows } from '../engine/prepared-sql.js';
import type { TransactionScope } from '../domain/transaction.js';
import { changesByJob, failureChange, writeTaskChanges, type TaskChange } from '../engine/task-changes.js';
import type { DeviceCommands } from './commands.js';
import { encodeReply, interpretProgressStep, otaReplyTopic, REPLY_CODE, type OtaMessage, type RequestKind } from './protocol.js';

export interface ReportItem {
  message: OtaMessage;
  receivedAt: Date;
}

export interface OutgoingReply {
  topic: string;
  payload: Buffer;
}

export interface BatchSettings {
  minuteMs: number;
  /** Null: presence is exact (embedded broker); else a will counts only after this much silence. */
  presenceGraceMs: number | null;
  commands: DeviceCommands;
}

export interface BatchResult {
  replies: OutgoingReply[];
  /** Counter name → increment, for what the batch saw. */
  counts: Map<string, number>;
}

interface DeviceRow {
  id: string;
  ou_id: string;
  product_id: string;
  product_key: string;
  device_key: string;
  firmware_version: string | null;
  online: boolean;
  last_seen_at: Date | string | null;
}

interface TaskRow {
  id: number | string;
  job_id: string;
  device_id: string;
  status: TaskStatus;
  progress: number;
  attempt: number;
  push_message_id: string | null;
  current_version: string | null;
  ou_id: string;
  product_id: string;
  job_status: JobStatus;
  retry_count: number;
  retry_interval_minutes: number;
  firmware_id: string;
  target_version: string;
  sign: string;
  sign_method: SignMethod;
  size: number | string;
}

/** A task in flight as the batch sees it, from its locked row through this batch's messages. */
interface TaskState {
  row: TaskRow;
  status: TaskStatus;
  progress: number;
  currentVersion: string | null;
  ended: { kind: 'succeeded' } | { kind: 'failed'; reason: FailureReason; detail: string } | null;
}

interface DeviceState {
  row: DeviceRow;
  online: boolean;
  version: string | null;
  lastSeenAt: Date | null;
  touched: boolean;
  task: TaskState | null;
}

const key = (productKey: string, deviceKey: string) => `${productKey}/${deviceKey}`;

export async function applyReportBatch(scope: TransactionScope, items: readonly ReportItem[], settings: BatchSettings): Promise<BatchResult> {
  const { tx, emit } = scope;
  const replies: OutgoingReply[] = [];
  const counts = new Map<string, number>();
  const count = (name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);
  const reply = (m: OtaMessage, kind: RequestKind, id: string, code: number, data: unknown = {}) =>
    replies.push({ topic: otaReplyTopic(m.productKey, m.deviceKey, kind), payload: encodeReply(id, code, data) });

  // ── Lock and load the devices and their tasks in flight ──
  const addresses = [...new Map(items.map((i) => [key(i.message.productKey, i.message.deviceKey), i.message])).values()].map((m) => ({
    pk: m.productKey,
    dk: m.deviceKey,
  }));
  // Both statements are sent at once (postgres.js pipelines them on the transaction's connection;
  // the database runs them in order, devices first): one round trip instead of two.
  const found = JSON.stringify(addresses);
  const [deviceRows, taskRows] = await Promise.all([
    preparedRows<DeviceRow>(
      tx,
      sql`select d.id, d.ou_id, d.product_id, p.product_key, d.device_key, d.firmware_version, d.online, d.last_seen_at
          from jsonb_to_recordset(${found}::jsonb) as x(pk text, dk text)
          join products p on p.product_key = x.pk collate "C"
          join devices d on d.product_id = p.id and d.device_key = x.dk collate "C"
          order by d.id
          for no key update of d`,
    ),
    preparedRows<TaskRow>(
      tx,
      sql`select t.id, t.job_id, t.device_id, t.status, t.progress, t.attempt, t.push_message_id, t.current_version,
                 j.ou_id, j.product_id, j.status as job_status, j.retry_count, j.retry_interval_minutes, j.firmware_id,
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
  const devices = new Map<string, DeviceState>();
  for (const row of deviceRows) {
    devices.set(key(row.product_key, row.device_key), {
      row,
      online: row.online,
      version: row.firmware_version,
      lastSeenAt: row.last_seen_at === null ? null : new Date(row.last_seen_at),
      touched: false,
      task: null,
    });
  }
  const byDeviceId = new Map([...devices.values()].map((d) => [d.row.id, d]));
  for (const row of taskRows) {
    // A device has at most one task in flight (pushes check it); the newest wins if not.
    const device = byDeviceId.get(row.device_id)!;
    device.task = { row, status: row.status, progress: Number(row.progress), currentVersion: row.current_version, ended: null };
  }
  const allTasks = [...devices.values()].flatMap((d) => (d.task ? [d.task] : []));

  // ── Replay the messages in arrival order ──
  const progressWithoutTask: { message: OtaMessage & { kind: 'progress'; isReply: false }; device: DeviceState }[] = [];
  const endTask = (device: DeviceState, ended: NonNullable<TaskState['ended']>) => {
    device.task!.ended = ended;
    device.task = null;
  };
  for (const { message, receivedAt } of items) {
    const device = devices.get(key(message.productKey, message.deviceKey));
    if (!device) {
      // Not ours: on a shared external broker it may belong to another system, so it is not answered.
      count('updraft_device_unknown_total');
      continue;
    }
    if (message.kind === 'presence') {
      const recentlyHeard =
        settings.presenceGraceMs !== null && device.lastSeenAt !== null && device.lastSeenAt.getTime() > receivedAt.getTime() - settings.presenceGraceMs;
      if (recentlyHeard) {
        count('updraft_device_presence_ignored_total{why="recently_heard"}');
      } else {
        device.online = false;
        device.touched = true;
      }
      continue;
    }
    // Any other message proves the device is connected.
    device.online = true;
    device.touched = true;
    if (!device.lastSeenAt || device.lastSeenAt < receivedAt) device.lastSeenAt = receivedAt;
    const task = device.task;

    if (message.kind === 'inform' && !message.isReply) {
      const version = message.request.params.version;
      device.version = version;
      if (task) {
        task.currentVersion = version;
        if (version === task.row.target_version) endTask(device, { kind: 'succeeded' });
      }
      reply(message, 'inform', message.request.id, REPLY_CODE.OK);
    } else if (message.kind === 'progress' && !message.isReply) {
      const outcome = interpretProgressStep(message.request.params.step)!;
      if (!task) {
        progressWithoutTask.push({ message, device });
        continue;
      }
      if (outcome.kind === 'failed') {
        endTask(device, {
          kind: 'failed',
          reason: outcome.reason,
          detail: message.request.params.desc || `Device reported step ${message.request.params.step}`,
        });
      } else {
        task.status = 'IN_PROGRESS';
        task.progress = Math.max(task.progress, outcome.percent);
      }
      reply(message, 'progress', message.request.id, REPLY_CODE.OK);
    } else if (message.kind === 'getversion' && !message.isReply) {
      const pushes = task
        ? [
            settings.commands.upgradeParams(task.row.job_id, {
              id: task.row.firmware_id,
              version: task.row.target_version,
              sign: task.row.sign,
              signMethod: task.row.sign_method,
              size: Number(task.row.size),
            }),
          ]
        : [];
      reply(message, 'getversion', message.request.id, REPLY_CODE.OK, pushes);
    } else if (message.kind === 'upgrade' && message.isReply) {
      // Only declines reach the batch (an accept changes nothing until the device reports progress).
      if (task && task.status === 'PUSHED' && task.row.push_message_id === message.reply.id) {
        const said = (message.reply.data as { message?: unknown } | null)?.message;
        const detail = `Device replied ${message.reply.code}${typeof said === 'string' && said ? `: ${said.slice(0, 500)}` : ''}`;
        endTask(device, { kind: 'failed', reason: 'DEVICE_IGNORED', detail });
      } else {
        count('updraft_device_stale_replies_total');
      }
    }
  }

  // ── Write devices and tasks once each ──
  const now = new Date();
  const changes: TaskChange[] = [];
  for (const task of allTasks) {
    const from = task.row.status;
    const id = Number(task.row.id);
    const versionChanged = task.currentVersion !== task.row.current_version && task.currentVersion !== null;
    if (task.ended?.kind === 'succeeded') {
      changes.push({ kind: 'succeeded', id, from, currentVersion: task.currentVersion ?? task.row.target_version });
    } else if (task.ended?.kind === 'failed') {
      const settingsOfTask = {
        id,
        from,
        attempt: task.row.attempt,
        retryCount: task.row.retry_count,
        retryIntervalMinutes: task.row.retry_interval_minutes,
        jobStatus: task.row.job_status,
      };
      changes.push(failureChange(settingsOfTask, task.ended.reason, task.ended.detail, now, settings.minuteMs));
    } else if (task.status !== from || task.progress !== Number(task.row.progress)) {
      changes.push({ kind: 'progress', id, from, progress: task.progress, currentVersion: task.currentVersion ?? undefined });
    } else if (versionChanged) {
      changes.push({ kind: 'version', id, from, currentVersion: task.currentVersion! });
    }
  }
  // Devices first: the task writes take the job's change-order lock, held until the commit, so the
  // less done after them, the sooner a concurrent batch of the same job may write its own.
  const touched = [...devices.values()].filter((d) => d.touched);
  const deviceWrite =
    touched.length === 0
      ? Promise.resolve([])
      : preparedRows(
          tx,
          sql`update devices d set online = x.online, firmware_version = x.version, last_seen_at = x.seen
              from jsonb_to_recordset(${JSON.stringify(
                touched.map((d) => ({ id: d.row.id, online: d.online, version: d.version, seen: d.lastSeenAt?.toISOString() ?? null })),
              )}::jsonb) as x(id uuid, online boolean, version text, seen timestamptz)
              where d.id = x.id`,
        );

  const jobs = new Map(taskRows.map((t) => [t.job_id, { id: t.job_id, ouId: t.ou_id, productId: t.product_id }]));
  // Sent right behind the device write (pipelined: one round trip; the database runs them in order).
  const [, written] = await Promise.all([deviceWrite, writeTaskChanges(tx, changes, [...jobs.keys()])]);
  for (const w of written) count(`updraft_task_transitions_total{kind="${w.kind}"}`);
  const ended = new Set(written.filter((w) => w.kind !== 'progress' && w.kind !== 'version').map((w) => w.jobId));
  for (const [jobId, changed] of changesByJob(written)) {
    // Progress alone frees no room and ends nothing: the engine need not look again for it.
    jobEvents(jobs.get(jobId)!, 'device reports', changed)
      .filter((event) => event.topic !== 'engine:kick' || ended.has(jobId))
      .forEach(emit);
  }
  for (const device of touched) {
    if (device.online && !device.row.online) {
      emit({ topic: 'engine:kick', args: [{ reason: 'device online', ouId: device.row.ou_id }] });
    }
    if (device.version !== device.row.firmware_version) {
      // INCREMENTAL jobs may now take the device in.
      emit({ topic: 'engine:kick', args: [{ reason: 'device version changed', ouId: device.row.ou_id }] });
    }
  }

  // ── Progress from devices without a task in flight: 765 if one waits to be pushed, else 764 ──
  if (progressWithoutTask.length > 0) {
    const waiting = await queryRows<{ product_id: string; device_key: string }>(
      tx,
      sql`select distinct j.product_id, t.device_key
          from ota_jobs j join job_tasks t on t.job_id = j.id
          where j.product_id in (select jsonb_array_elements_text(${JSON.stringify([...new Set(progressWithoutTask.map((p) => p.device.row.product_id))])}::jsonb)::uuid)
            and j.status not in ('FINISHED', 'CANCELLED')
            and t.device_key in (select jsonb_array_elements_text(${JSON.stringify(progressWithoutTask.map((p) => p.device.row.device_key))}::jsonb) collate "C")
            and t.status = 'TO_BE_PUSHED'`,
    );
    const hasWaiting = new Set(waiting.map((w) => `${w.product_id}/${w.device_key}`));
    for (const { message, device } of progressWithoutTask) {
      const notStarted = hasWaiting.has(`${device.row.product_id}/${device.row.device_key}`);
      count(`updraft_device_progress_rejected_total{code="${notStarted ? REPLY_CODE.TASK_NOT_STARTED : REPLY_CODE.NO_TASK}"}`);
      reply(message, 'progress', message.request.id, notStarted ? REPLY_CODE.TASK_NOT_STARTED : REPLY_CODE.NO_TASK, {
        message: notStarted ? 'the upgrade has not been pushed to this device yet' : 'no upgrade task for this device',
      });
    }
  }
  return { replies, counts };
}
