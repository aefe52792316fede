/**
 * The gateway's inbound side: every device message from the broker comes through `accept`.
 *
 * - Decoding happens at once. A malformed message is logged (at most a few lines a second),
 *   counted, answered with 400 where its id can be read, and acknowledged: re-delivering it
 *   could not make it valid. Nothing malformed reaches the database.
 * - Valid reports queue up and are written in batches of up to REPORT_BATCH_SIZE: one transaction
 *   per batch, never one per message. With no batch running a report goes at once; while one runs,
 *   the next batch fills up (see `nextBatchStart`).
 *   Up to REPORT_BATCH_CONCURRENCY batches run at once, over disjoint devices: a device's message
 *   waits while an earlier one of the same device is in a running batch, so a device's messages
 *   are applied in the order they arrived. (One batch prepares while another holds the job's
 *   change-order lock and commits: the database and this process work side by side.)
 * - Report order (report-replay.ts): a request that comes before the earlier ones of its device
 *   (another member or instance holds them) is **held**: not acknowledged, not answered, and put
 *   back in the queue every ORDER_RETRY_MS until its turn comes or REPORT_ORDER_HOLD_MS passed
 *   (then it is applied, skipping what never came).
 * - A report is acknowledged (MQTT) and answered (200 …) only after its batch committed. A batch
 *   that fails is retried; one that keeps failing is split so that one poisonous report cannot
 *   hold back the others (that one is then dropped, logged and counted).
 */
import type { AppServices } from '../services.js';
import { isTransient } from '../db/errors.js';
import { inTransaction } from '../domain/transaction.js';
import type { DeviceCommands } from './commands.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { decodeOtaMessage, encodeReply, otaReplyTopic, REPLY_CODE, type OtaDecodeError } from './protocol.js';
import { applyReportBatch, type OutgoingReply } from './report-batch.js';
import type { ReportItem } from './report-replay.js';
import type { DeviceTransport, InboundMessage } from './transport.js';

interface Queued extends ReportItem {
  ack(): void;
  /** `{productKey}/{deviceKey}`: batches in flight never share a device. */
  device: string;
  /** performance.now() when queued. */
  queuedAt: number;
  /** performance.now() when first held for the device's order. */
  heldSince?: number;
}

export interface IngestorSettings {
  batchSize: number;
  batchMs: number;
  /** Batches in flight at once (over disjoint devices). */
  concurrency: number;
  minuteMs: number;
  presenceGraceMs: number | null;
  /** How long a request waits for the earlier ones of its device (REPORT_ORDER_HOLD_MS). */
  orderHoldMs: number;
}

const RETRIES = 4;
/** How often held reports are tried again. */
const ORDER_RETRY_MS = 100;

export class ReportIngestor {
  private queue: Queued[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Reports waiting for earlier ones of their device, and when they are tried again. */
  private held: Queued[] = [];
  private heldTimer: NodeJS.Timeout | null = null;
  /** Batches being written, and the devices they hold. */
  private readonly running = new Set<Promise<void>>();
  private readonly busyDevices = new Set<string>();
  private closed = false;
  private logBudget = { second: 0, lines: 0 };
  private transport: DeviceTransport | null = null;
  private commands: DeviceCommands | null = null;

  constructor(
    private readonly services: AppServices,
    private readonly metrics: Metrics,
    private readonly settings: IngestorSettings,
    private readonly log: Logger,
  ) {}

  /** The transport and commands exist only once the broker runs; messages wait for them. */
  attach(transport: DeviceTransport, commands: DeviceCommands): void {
    this.transport = transport;
    this.commands = commands;
    this.schedule();
  }

  accept(inbound: InboundMessage): void {
    const decoded = decodeOtaMessage(inbound.topic, inbound.payload);
    if (!decoded.ok) {
      this.rejectMalformed(decoded.error, inbound);
      return;
    }
    const message = decoded.message;
    this.metrics.deviceMessages.inc({ kind: message.isReply ? `${message.kind}_reply` : message.kind });
    const relevant =
      ((message.kind === 'inform' || message.kind === 'progress' || message.kind === 'getversion') && !message.isReply) ||
      message.kind === 'presence' ||
      (message.kind === 'upgrade' && message.isReply && message.reply.code !== REPLY_CODE.OK);
    if (this.closed) {
      // Shutting down: not acknowledged, so the broker or the device delivers it again later.
      this.metrics.deviceMessagesUnprocessed.inc();
      return;
    }
    if (!relevant) {
      // Accepted pushes, cancel replies, and commands a device sent itself change nothing.
      inbound.ack();
      return;
    }
    this.queue.push({
      message,
      receivedAt: inbound.receivedAt,
      queuedAt: performance.now(),
      ack: inbound.ack,
      device: `${message.productKey}/${message.deviceKey}`,
    });
    this.schedule();
  }

  /** Writes what is queued and stops taking reports (later ones are left unacknowledged). */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.heldTimer) clearTimeout(this.heldTimer);
    this.heldTimer = null;
    // Held reports stay unacknowledged: the broker or the device delivers them again.
    this.held = [];
    while (this.running.size > 0 || (this.queue.length > 0 && this.transport)) {
      if (this.running.size === 0) this.startBatch();
      await Promise.race(this.running);
    }
    this.closed = true;
  }

  private rejectMalformed(error: OtaDecodeError, inbound: InboundMessage): void {
    this.metrics.deviceMessages.inc({ kind: 'malformed' });
    this.metrics.deviceMalformed.inc({ code: error.code });
    const now = Math.floor(Date.now() / 1000);
    if (this.logBudget.second !== now) this.logBudget = { second: now, lines: 0 };
    if (++this.logBudget.lines <= 5) this.log.warn({ topic: inbound.topic.slice(0, 200), code: error.code }, `malformed device message: ${error.message}`);
    const topic = error.topic;
    const answerable = topic && !topic.isReply && (topic.kind === 'inform' || topic.kind === 'progress' || topic.kind === 'getversion');
    if (answerable && error.id !== null && this.transport) {
      this.metrics.deviceBadRequestReplies.inc();
      this.transport.publish(
        otaReplyTopic(topic.productKey, topic.deviceKey, topic.kind as 'inform'),
        encodeReply(error.id, REPLY_CODE.BAD_REQUEST, { code: error.code, message: error.message }),
      );
    }
    inbound.ack();
  }

  /**
   * Starts batches while there is room (see `nextBatchStart`): with no batch running, what is
   * queued goes at once, a lone report included; while one runs, the queue grows into the next
   * batch, which starts beside it once full or once its oldest report waited REPORT_BATCH_MS, else
   * as soon as a running batch ends.
   */
  private schedule(): void {
    if (!this.transport || this.closed) return;
    while (this.queue.length > 0) {
      const decision = nextBatchStart({
        queued: this.queue.length,
        running: this.running.size,
        concurrency: this.settings.concurrency,
        batchSize: this.settings.batchSize,
        batchMs: this.settings.batchMs,
        waitedMs: performance.now() - this.queue[0].queuedAt,
      });
      if (decision === 'now') {
        if (!this.startBatch()) return;
        continue;
      }
      if (decision !== 'later' && !this.timer) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.schedule();
        }, decision);
      }
      return;
    }
  }

  /**
   * Takes up to a batch of queued reports whose devices no running batch holds, in arrival order.
   * Once a device's report is left in the queue, so are its later ones (their order is kept).
   */
  private startBatch(): boolean {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const { batch, rest } = takeBatch(this.queue, this.busyDevices, this.settings.batchSize);
    if (batch.length === 0) return false;
    this.queue = rest;
    const devices = [...new Set(batch.map((item) => item.device))];
    for (const device of devices) this.busyDevices.add(device);
    const run: Promise<void> = this.writeBatch(batch).finally(() => {
      for (const device of devices) this.busyDevices.delete(device);
      this.running.delete(run);
      this.schedule();
    });
    this.running.add(run);
    return true;
  }

  private async writeBatch(batch: Queued[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const started = performance.now();
        const result = await inTransaction(this.services, (scope) => applyReportBatch(scope, batch, { ...this.settings, commands: this.commands! }));
        const committed = Date.now();
        this.metrics.reportBatches.inc();
        this.metrics.reportsWritten.inc(batch.length);
        this.metrics.reportBatchDuration.observe((performance.now() - started) / 1000);
        for (const item of batch) this.metrics.reportToCommit.observe((committed - item.receivedAt.getTime()) / 1000);
        for (const seconds of result.pushToFirstProgress) this.metrics.pushToFirstProgress.observe(seconds);
        const uncounted = this.metrics.addCounts(result.counts);
        if (uncounted.length > 0) this.log.error({ uncounted }, 'report batch counts name no counter');
        // Acknowledged first, then answered, in the same turn: the embedded broker sends a device's
        // PUBACK and reply in one write.
        const held = new Set(result.held);
        for (const item of batch) if (!held.has(item)) item.ack();
        this.send(result.replies);
        if (held.size > 0) this.hold(result.held as Queued[]);
        return;
      } catch (error) {
        this.metrics.reportBatchErrors.inc();
        if (isTransient(error) && !this.closed) {
          // The database is unreachable or the batch lost a lock race: wait, never drop.
          if (attempt % 10 === 1) this.log.warn({ reports: batch.length, attempt, err: error }, 'report batch waits for the database');
          await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 50 * 2 ** Math.min(attempt, 6))));
          continue;
        }
        if (attempt < RETRIES) {
          this.log.warn({ reports: batch.length, attempt, err: error }, 'report batch failed, retrying');
          await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
          continue;
        }
        if (batch.length > 1) {
          // Find the report that cannot be written; the others go through.
          const half = Math.ceil(batch.length / 2);
          await this.writeBatch(batch.slice(0, half));
          await this.writeBatch(batch.slice(half));
          return;
        }
        this.metrics.reportsDropped.inc();
        const { productKey, deviceKey, kind } = batch[0].message;
        this.log.error({ productKey, deviceKey, kind, err: error }, 'dropping a report that cannot be written');
        batch[0].ack();
        return;
      }
    }
  }

  /** Puts reports held for their device's order back in the queue (at its head: they came first) soon. */
  private hold(items: Queued[]): void {
    const now = performance.now();
    for (const item of items) item.heldSince ??= now;
    this.held.push(...items);
    if (this.heldTimer || this.closed) return;
    this.heldTimer = setTimeout(() => {
      this.heldTimer = null;
      const due = performance.now();
      const retried = this.held;
      this.held = [];
      for (const item of retried) item.force = due - item.heldSince! >= this.settings.orderHoldMs;
      this.queue = retried.concat(this.queue);
      this.schedule();
    }, ORDER_RETRY_MS);
  }

  private send(replies: OutgoingReply[]): void {
    for (const r of replies) this.transport!.publish(r.topic, r.payload);
  }
}

export interface BatchStartState {
  queued: number;
  running: number;
  concurrency: number;
  batchSize: number;
  batchMs: number;
  /** How long the oldest queued report has waited. */
  waitedMs: number;
}

/**
 * When the next batch starts: 'now', 'later' (when a running batch ends), or in so many ms.
 * Idle: at once, whatever is queued (waiting for company would only add latency: nothing else
 * is using the database connection). Busy: reports pile up while a batch commits, so the next
 * batch grows by itself; it starts beside the running one once full, or once its oldest report
 * waited REPORT_BATCH_MS (a slot is free: no reason to keep it waiting for a slow batch).
 */
export function nextBatchStart(state: BatchStartState): 'now' | 'later' | number {
  if (state.queued === 0) return 'later';
  if (state.running === 0) return 'now';
  if (state.running >= state.concurrency) return 'later';
  if (state.queued >= state.batchSize) return 'now';
  const left = state.batchMs - state.waitedMs;
  return left <= 0 ? 'now' : Math.ceil(left);
}

/**
 * Up to `size` queued items, in order, of devices that `busy` does not hold; once an item of a
 * device is left behind, so are that device's later items (a device's items keep their order).
 * `rest` is what stays queued, in its order.
 */
export function takeBatch<T extends { device: string }>(queue: readonly T[], busy: ReadonlySet<string>, size: number): { batch: T[]; rest: T[] } {
  const batch: T[] = [];
  const left: T[] = [];
  const waiting = new Set<string>();
  let i = 0;
  for (; i < queue.length && batch.length < size; i++) {
    const item = queue[i];
    if (!busy.has(item.device) && !waiting.has(item.device)) batch.push(item);
    else {
      left.push(item);
      waiting.add(item.device);
    }
  }
  return { batch, rest: i === queue.length ? left : left.concat(queue.slice(i)) };
}
