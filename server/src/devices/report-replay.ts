/**
 * The pure middle of a report batch (report-batch.ts: load → replay → write → reply): each
 * device's messages, in the device's order, against the state loaded for it. Presence and versions
 * are the device's; what happens to its task in flight is decided by the task state machine
 * (domain/tasks/transitions.ts), and several changes to one task become the one change to write.
 * No database, no clock (the messages carry their arrival times).
 *
 * Report order (docs/engine.md): with shared subscriptions the broker hands a device's messages to
 * any member of the group, on any instance, so they may arrive out of the order the device sent
 * them. Requests whose id is `<session>-<counter>` carry that order, and the device row keeps the
 * last one applied (`report_session`, `report_seq`, read under the device's row lock, so instances
 * agree). A request is applied only when it is the next one: an earlier one (a duplicate, or one
 * overtaken after its hold ran out) changes nothing and is answered as done; a later one is
 * **held** (left unacknowledged, tried again by the ingestor) until the missing ones are applied or
 * REPORT_ORDER_HOLD_MS passed (`force`). So a stale report never undoes a newer state, and a
 * getversion is answered only after the reports the device sent before it.
 */
import type { FailureReason, JobStatus, SignMethod, TaskStatus, WaitingReason } from '../db/schema.js';
import { jobContextOf, taskStateOf } from '../domain/tasks/decide.js';
import { combineUpdates, type TaskEvent, type TaskState, type TaskUpdate, transition } from '../domain/tasks/transitions.js';
import type { TaskChange } from '../domain/tasks/write.js';
import { interpretProgressStep, type OtaMessage, REPLY_CODE, type RequestKind, type RequestOrder, requestOrder } from './protocol.js';

export interface ReportItem {
  message: OtaMessage;
  receivedAt: Date;
  /** Held for REPORT_ORDER_HOLD_MS already: applied even though earlier requests of the device are missing. */
  force?: boolean;
}

export interface DeviceRow {
  id: string;
  ou_id: string;
  product_id: string;
  product_key: string;
  device_key: string;
  firmware_version: string | null;
  online: boolean;
  last_seen_at: Date | string | null;
  report_session: string | null;
  report_seq: number | string | null;
}

/** A device's task in flight, with what a reply to getversion needs of its job and firmware. */
export interface TaskRow {
  id: number | string;
  job_id: string;
  device_id: string;
  status: TaskStatus;
  progress: number;
  attempt: number;
  push_message_id: string | null;
  current_version: string | null;
  waiting_reason: WaitingReason | null;
  failure_reason: FailureReason | null;
  timeout_at: Date | string | null;
  pushed_at?: Date | string | null;
  wave_index: number | null;
  active_wave: number | null;
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

export interface LoadedReportState {
  devices: readonly DeviceRow[];
  tasks: readonly TaskRow[];
}

export interface ReplaySettings {
  minuteMs: number;
  /** Null: presence is exact (embedded broker); else a will counts only after this much silence. */
  presenceGraceMs: number | null;
}

/** A reply to send once the batch committed. */
export type ReplySpec =
  | { message: OtaMessage; kind: RequestKind; id: string; code: number; data?: unknown }
  /** getversion: the pending push of `task` (a fresh download URL is minted when replying), or none. */
  | { message: OtaMessage; kind: 'getversion'; id: string; pendingPush: TaskRow | null };

export interface DeviceWrite {
  id: string;
  online: boolean;
  version: string | null;
  seen: string | null;
  session: string | null;
  seq: number | null;
}

export interface ReplayPlan {
  deviceWrites: DeviceWrite[];
  taskChanges: TaskChange[];
  replies: ReplySpec[];
  /** Progress reports of devices without a task that takes them: answered 765 or 764 after a lookup. */
  progressWithoutTask: { message: OtaMessage & { kind: 'progress'; isReply: false }; device: DeviceRow }[];
  /** Units whose engine should look again: a device came online or changed version. */
  kicks: { reason: 'device online' | 'device version changed'; ouId: string }[];
  /** Requests that wait for earlier ones of their device (not applied, not answered, not acknowledged). */
  held: ReportItem[];
  /** Counter name → increment. */
  counts: Map<string, number>;
}

interface DeviceState {
  row: DeviceRow;
  online: boolean;
  version: string | null;
  lastSeenAt: Date | null;
  /** The last request applied, in the device's order. */
  session: string | null;
  seq: number | null;
  touched: boolean;
  task: { row: TaskRow; state: TaskState; update: TaskUpdate | null } | null;
}

const key = (productKey: string, deviceKey: string) => `${productKey}/${deviceKey}`;

export function replayReports(loaded: LoadedReportState, items: readonly ReportItem[], settings: ReplaySettings): ReplayPlan {
  const plan: ReplayPlan = { deviceWrites: [], taskChanges: [], replies: [], progressWithoutTask: [], kicks: [], held: [], counts: new Map() };
  const count = (name: string) => plan.counts.set(name, (plan.counts.get(name) ?? 0) + 1);
  const devices = new Map<string, DeviceState>();
  const byId = new Map<string, DeviceState>();
  for (const row of loaded.devices) {
    const device: DeviceState = {
      row,
      online: row.online,
      version: row.firmware_version,
      lastSeenAt: row.last_seen_at === null ? null : new Date(row.last_seen_at),
      session: row.report_session,
      seq: row.report_seq === null ? null : Number(row.report_seq),
      touched: false,
      task: null,
    };
    devices.set(key(row.product_key, row.device_key), device);
    byId.set(row.id, device);
  }
  for (const row of loaded.tasks) {
    // A device has at most one task in flight (pushes check it); the newest wins if not.
    const state = taskStateOf(row);
    byId.get(row.device_id)!.task = { row, state, update: null };
  }

  /** Runs the device's task through `event`; false when the task refused it (or there is none). */
  const apply = (device: DeviceState, event: TaskEvent): boolean => {
    const task = device.task;
    if (!task) return false;
    const t = transition(task.state, event, jobContextOf(task.row, settings.minuteMs));
    if (!t.ok) return false;
    if (t.update) task.update = task.update ? combineUpdates(task.update, t.update) : t.update;
    task.state = t.next;
    return true;
  };

  for (const [address, deviceItems] of inDeviceOrder(items)) {
    const device = devices.get(address);
    if (!device) {
      // Not ours: on a shared external broker it may belong to another system, so it is not answered.
      for (let i = 0; i < deviceItems.length; i++) count('updraft_device_unknown_total');
      continue;
    }
    let waiting = false;
    for (const item of deviceItems) {
      if (waiting) {
        // Behind a held request: its order comes after it.
        plan.held.push(item);
        continue;
      }
      const order = orderOf(item.message);
      const place = order ? placeInOrder(device, order, item.force === true) : 'next';
      if (place === 'later') {
        count('updraft_device_reports_held_total');
        plan.held.push(item);
        waiting = true;
        continue;
      }
      if (place === 'earlier') {
        count('updraft_device_reports_stale_total');
        answerStale(item.message, device);
        continue;
      }
      if (order) {
        if (place === 'skipping') count('updraft_device_report_gaps_skipped_total');
        device.session = order.session;
        device.seq = order.seq;
        device.touched = true;
      }
      replayOne(device, item);
    }
  }

  /** An earlier request than the last applied: changes nothing, answered as what the device now is. */
  function answerStale(message: OtaMessage, device: DeviceState): void {
    if (message.kind === 'getversion' && !message.isReply) {
      plan.replies.push({ message, kind: 'getversion', id: message.request.id, pendingPush: pendingPushOf(device) });
    } else if ((message.kind === 'inform' || message.kind === 'progress') && !message.isReply) {
      plan.replies.push({ message, kind: message.kind, id: message.request.id, code: REPLY_CODE.OK });
    }
  }

  function replayOne(device: DeviceState, { message, receivedAt }: ReportItem): void {
    if (message.kind === 'presence') {
      const recentlyHeard =
        settings.presenceGraceMs !== null && device.lastSeenAt !== null && device.lastSeenAt.getTime() > receivedAt.getTime() - settings.presenceGraceMs;
      if (recentlyHeard) {
        count('updraft_device_presence_ignored_total{why="recently_heard"}');
      } else {
        device.online = false;
        device.touched = true;
      }
      return;
    }
    // Any other message proves the device is connected.
    device.online = true;
    device.touched = true;
    if (!device.lastSeenAt || device.lastSeenAt < receivedAt) device.lastSeenAt = receivedAt;

    if (message.kind === 'inform' && !message.isReply) {
      const version = message.request.params.version;
      device.version = version;
      if (device.task) apply(device, { type: 'inform', version, targetVersion: device.task.row.target_version });
      plan.replies.push({ message, kind: 'inform', id: message.request.id, code: REPLY_CODE.OK });
    } else if (message.kind === 'progress' && !message.isReply) {
      const { step, desc } = message.request.params;
      const outcome = interpretProgressStep(step)!;
      if (!apply(device, { type: 'progress', step: String(step), outcome, desc })) {
        plan.progressWithoutTask.push({ message, device: device.row });
        return;
      }
      plan.replies.push({ message, kind: 'progress', id: message.request.id, code: REPLY_CODE.OK });
    } else if (message.kind === 'getversion' && !message.isReply) {
      plan.replies.push({ message, kind: 'getversion', id: message.request.id, pendingPush: pendingPushOf(device) });
    } else if (message.kind === 'upgrade' && message.isReply) {
      // Only declines reach the batch (an accept changes nothing until the device reports progress).
      const said = (message.reply.data as { message?: unknown } | null)?.message;
      const declined: TaskEvent = {
        type: 'deviceDeclined',
        messageId: message.reply.id,
        code: message.reply.code,
        message: typeof said === 'string' && said ? said : undefined,
      };
      if (!apply(device, declined)) count('updraft_device_stale_replies_total');
    }
  }

  for (const device of devices.values()) {
    const task = device.task;
    if (task?.update) plan.taskChanges.push({ id: Number(task.row.id), jobId: task.row.job_id, from: task.row.status, update: task.update });
    if (!device.touched) continue;
    plan.deviceWrites.push({
      id: device.row.id,
      online: device.online,
      version: device.version,
      seen: device.lastSeenAt?.toISOString() ?? null,
      session: device.session,
      seq: device.seq,
    });
    if (device.online && !device.row.online) plan.kicks.push({ reason: 'device online', ouId: device.row.ou_id });
    // INCREMENTAL jobs may now take the device in.
    if (device.version !== device.row.firmware_version) plan.kicks.push({ reason: 'device version changed', ouId: device.row.ou_id });
  }
  return plan;
}

function pendingPushOf(device: DeviceState): TaskRow | null {
  const task = device.task;
  return task && (task.state.status === 'PUSHED' || task.state.status === 'IN_PROGRESS') ? task.row : null;
}

/** The order of a device's request (replies and wills have none). */
function orderOf(message: OtaMessage): RequestOrder | null {
  if (message.kind === 'presence' || message.isReply) return null;
  return requestOrder(message.request.id);
}

/**
 * Where a request stands against the last one applied: the next one (or the first of a session),
 * an earlier one, a later one (held), or a later one whose hold ran out (applied, skipping the gap).
 */
function placeInOrder(device: DeviceState, order: RequestOrder, force: boolean): 'next' | 'earlier' | 'later' | 'skipping' {
  if (device.seq === null || device.session !== order.session) return 'next';
  if (order.seq <= device.seq) return 'earlier';
  if (order.seq === device.seq + 1) return 'next';
  return force ? 'skipping' : 'later';
}

/**
 * The batch's items per device (devices in order of first arrival); within a device, its requests
 * of one session sorted by their counter, in the places those requests took (a device's other
 * messages keep their place). Two members of the group may hand one instance a device's requests
 * out of order; sorted here, they need not wait for each other.
 */
function inDeviceOrder(items: readonly ReportItem[]): Map<string, ReportItem[]> {
  const byDevice = new Map<string, ReportItem[]>();
  for (const item of items) {
    const address = key(item.message.productKey, item.message.deviceKey);
    const list = byDevice.get(address);
    if (list) list.push(item);
    else byDevice.set(address, [item]);
  }
  for (const list of byDevice.values()) {
    if (list.length < 2) continue;
    const orders = list.map((item) => orderOf(item.message));
    const session = orders.find((o) => o !== null)?.session;
    const slots = orders.flatMap((o, i) => (o !== null && o.session === session ? [i] : []));
    const sorted = slots.map((i) => list[i]).sort((a, b) => orderOf(a.message)!.seq - orderOf(b.message)!.seq);
    slots.forEach((slot, i) => {
      list[slot] = sorted[i];
    });
  }
  return byDevice;
}
