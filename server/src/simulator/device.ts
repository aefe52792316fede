/**
 * One virtual device: an MQTT connection with the device's own credentials, and the upgrade state
 * machine of DESIGN §4. It knows the protocol and its credentials, nothing of the server's database.
 *
 *   offline ─connect─> idle ─push─> upgrading ─100─> rebooting ─reconnect, inform new version─> idle
 *                        ^             │ failure step / cancel
 *                        └─────────────┘            (hang: silent until its failure behaviour is spent)
 */
import type http from 'node:http';
import type https from 'node:https';
import mqtt, { type MqttClient } from 'mqtt';
import {
  PROGRESS_STEP,
  REPLY_CODE,
  decodeOtaMessage,
  deviceMqttCredentials,
  encodePresence,
  encodeReply,
  encodeRequest,
  otaReplyTopic,
  otaTopic,
  type OtaRequestParams,
  type RequestKind,
  type UpgradeParams,
} from '../devices/protocol.js';
import { isFailureBehaviour, type Behaviour, type FailureBehaviour } from './behaviour.js';
import { downloadFirmware, type DownloadResult } from './download.js';
import type { FleetDeviceSpec } from './fleet-file.js';
import { deviceRandom, randomInt } from './random.js';
import type { ScheduledTask, Scheduler } from './scheduler.js';
import type { FleetStats } from './stats.js';

/** Upgrade reply code of a device that declines a push (any non-200 means declined). */
export const DECLINE_REPLY_CODE = 403;
/** Upgrade reply code when the device is already upgrading to another job. */
export const BUSY_REPLY_CODE = 409;

/** Share of the progress bar the download covers; the rest is writing the image. */
const DOWNLOAD_SHARE = 50;

export interface DeviceSettings {
  mqttUrl: string;
  /** Nominal duration of one upgrade, from accepting the push to reporting 100. */
  upgradeMs: number;
  /** Time between reporting 100 and reconnecting with the new version. */
  rebootMs: number;
  /** Number of progress reports after "0"; steps are evenly spaced: 0, 100/n, …, 100. */
  progressReports: number;
  /** Failure behaviours apply to this many upgrade attempts, then the device behaves normally. */
  failAttempts: number;
  /** Null: offline devices never connect. */
  offlineDelayMs: number | null;
  maxResumes: number;
  resumeDelayMs: number;
  downloadIdleTimeoutMs: number;
  keepaliveSeconds: number;
  seed: number;
}

/** What a device shares with the rest of the fleet. */
export interface DeviceContext {
  settings: DeviceSettings;
  scheduler: Scheduler;
  stats: FleetStats;
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
  /** Queue a connection, subject to the fleet's connect rate. */
  requestConnect(device: VirtualDevice): void;
  log(message: string): void;
}

export type DeviceState = 'offline' | 'connecting' | 'idle' | 'upgrading' | 'rebooting' | 'hung' | 'stopped';

interface UpgradeRun {
  push: UpgradeParams;
  /** The failure to act out in this attempt, null when it should succeed. */
  failure: FailureBehaviour | null;
  /** Percent at which writeFail / undefinedFail / hang strike. */
  failAt: number;
  /** Moved forward when the run had to wait for the download, so later steps keep their spacing. */
  startedAt: number;
  durationMs: number;
  nextIndex: number;
  timer: ScheduledTask | null;
  /** The next step is due but the download has not got that far yet. */
  waiting: boolean;
  received: number;
  verified: boolean;
  abort: AbortController;
  finished: boolean;
}

export class VirtualDevice {
  readonly productKey: string;
  readonly deviceKey: string;
  readonly behaviour: Behaviour;
  private readonly secret: string;
  private currentVersion: string;
  private currentState: DeviceState = 'offline';
  private client: MqttClient | null = null;
  private isConnected = false;
  private run: UpgradeRun | null = null;
  /** Upgrade attempts so far (accepted or declined pushes): failure behaviours stop after `failAttempts`. */
  private attempts = 0;
  /** Set while rebooting after a successful upgrade; becomes the version on reconnect. */
  private pendingVersion: string | null = null;
  private requestSeq = 0;
  private readonly sessionTag: string;
  /** Slowdown factor of a `slow` device, 5..10. */
  private readonly slowFactor: number;
  private readonly reconnectPeriodMs: number;
  private readonly random: () => number;
  private firstConnect: { promise: Promise<void>; resolve: () => void };
  private pendingTasks = new Set<ScheduledTask>();

  constructor(
    spec: FleetDeviceSpec,
    behaviour: Behaviour,
    private readonly context: DeviceContext,
  ) {
    this.productKey = spec.productKey;
    this.deviceKey = spec.deviceKey;
    this.secret = spec.secret;
    this.currentVersion = spec.version;
    this.behaviour = behaviour;
    this.random = deviceRandom(context.settings.seed, spec.productKey, spec.deviceKey);
    this.slowFactor = 5 + this.random() * 5;
    // Spread reconnects so a broker restart is not met by the whole fleet in the same millisecond.
    this.reconnectPeriodMs = randomInt(this.random, 1000, 3000);
    this.sessionTag = Math.floor(this.random() * 2 ** 32).toString(36);
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.firstConnect = { promise, resolve };
  }

  get version(): string {
    return this.currentVersion;
  }

  get state(): DeviceState {
    return this.currentState;
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** Job id of the upgrade in progress, if any. */
  get upgradingJobId(): string | null {
    return this.run?.push.jobId ?? null;
  }

  /** Resolves on the first successful connection (never, for a device that stays offline). */
  whenConnected(): Promise<void> {
    return this.firstConnect.promise;
  }

  /** Whether this device is expected to connect at start (offline devices are not). */
  get connectsAtStart(): boolean {
    return this.behaviour !== 'offline';
  }

  /** Called once by the fleet. */
  start(): void {
    if (this.behaviour !== 'offline') {
      this.context.requestConnect(this);
      return;
    }
    const delay = this.context.settings.offlineDelayMs;
    if (delay !== null) this.later(delay, () => this.context.requestConnect(this));
  }

  /** Opens the MQTT connection (the fleet calls this when the connect rate allows). */
  connect(): void {
    if (this.currentState === 'stopped' || this.client) return;
    const { settings, stats } = this.context;
    const credentials = deviceMqttCredentials(this.productKey, this.deviceKey, this.secret);
    if (this.currentState === 'offline') this.currentState = 'connecting';
    const client = mqtt.connect(settings.mqttUrl, {
      ...credentials,
      protocolVersion: 4,
      // Clean session: pushes missed while offline are fetched with getversion on connect instead.
      clean: true,
      keepalive: settings.keepaliveSeconds,
      reconnectPeriod: this.reconnectPeriodMs,
      // A refused CONNECT (the broker's "server unavailable" while its database is away) is tried
      // again after the reconnect period, as a real device does; mqtt.js would give up for good.
      reconnectOnConnackError: true,
      connectTimeout: 30_000,
      // Subscriptions are renewed by onConnect, on every connect.
      resubscribe: false,
      will: { topic: otaTopic(this.productKey, this.deviceKey, 'presence'), payload: encodePresence(), qos: 1, retain: false },
    });
    this.client = client;
    client.on('connect', () => {
      if (this.client !== client) return;
      this.isConnected = true;
      stats.connected++;
      stats.connects++;
      this.onConnect(client);
    });
    client.on('close', () => {
      if (this.isConnected && this.client === client) {
        this.isConnected = false;
        stats.connected--;
      }
    });
    client.on('error', (error) => {
      // A client being closed (reboot, stop) may still report the socket's end; that is not a fault.
      if (this.client !== client) return;
      stats.connectionErrors++;
      this.context.log(`${this.deviceKey}: mqtt error: ${error.message}`);
    });
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
  }

  /**
   * Cuts the TCP connection without an MQTT DISCONNECT, as a network loss would: the broker then
   * publishes the presence will, and the client reconnects after its reconnect period.
   */
  dropConnection(): void {
    this.client?.stream?.destroy();
  }

  async stop(): Promise<void> {
    if (this.run) this.endRun(this.run);
    for (const task of this.pendingTasks) task.cancel();
    this.pendingTasks.clear();
    this.currentState = 'stopped';
    await this.closeClient(true);
  }

  // ── Connection ──────────────────────────────────────────────────────────────────────────────────

  private onConnect(client: MqttClient): void {
    const topics = [
      otaTopic(this.productKey, this.deviceKey, 'upgrade'),
      otaTopic(this.productKey, this.deviceKey, 'cancel'),
      otaReplyTopic(this.productKey, this.deviceKey, 'inform'),
      otaReplyTopic(this.productKey, this.deviceKey, 'progress'),
      otaReplyTopic(this.productKey, this.deviceKey, 'getversion'),
    ];
    client.subscribe(topics, { qos: 1 }, (error, granted) => {
      if (this.client !== client || this.currentState === 'stopped') return;
      if (error || granted?.some((grant) => grant.qos > 2)) {
        this.context.log(`${this.deviceKey}: subscribe refused: ${error?.message ?? 'by the broker'}`);
        return;
      }
      if (this.pendingVersion !== null) {
        // Back from the reboot that installs the new image.
        this.currentVersion = this.pendingVersion;
        this.pendingVersion = null;
        this.context.stats.succeeded++;
      }
      if (this.currentState === 'connecting' || this.currentState === 'rebooting') this.currentState = 'idle';
      // Inform first (marks the device online with its version), then ask for pushes missed while offline.
      this.sendRequest('inform', { version: this.currentVersion });
      this.sendRequest('getversion', {});
      this.firstConnect.resolve();
    });
  }

  /** `withinMs`: give up waiting for a clean end after this long (the connection is cut). */
  private closeClient(force: boolean, withinMs?: number): Promise<void> {
    const client = this.client;
    this.client = null;
    if (!client) return Promise.resolve();
    if (this.isConnected) {
      this.isConnected = false;
      this.context.stats.connected--;
    }
    return new Promise((resolve) => {
      const timer =
        withinMs === undefined
          ? null
          : setTimeout(() => {
              client.stream?.destroy();
              resolve();
            }, withinMs);
      client.end(force, {}, () => {
        if (timer) clearTimeout(timer);
        resolve();
      });
    });
  }

  private publish(topic: string, payload: Buffer): void {
    if (!this.client) return;
    this.context.stats.messagesSent++;
    // QoS 1 everywhere: reports are what the server turns into task states and must not vanish.
    this.client.publish(topic, payload, { qos: 1 });
  }

  private sendRequest<K extends RequestKind>(kind: K, params: OtaRequestParams[K]): void {
    const id = `${this.sessionTag}-${++this.requestSeq}`;
    this.publish(otaTopic(this.productKey, this.deviceKey, kind), encodeRequest(kind, id, params));
  }

  private sendReply(kind: RequestKind, id: string, code: number, data: unknown = {}): void {
    this.publish(otaReplyTopic(this.productKey, this.deviceKey, kind), encodeReply(id, code, data));
  }

  private later(delayMs: number, run: () => void): void {
    const task = this.context.scheduler.after(delayMs, () => {
      this.pendingTasks.delete(task);
      run();
    });
    this.pendingTasks.add(task);
  }

  // ── Incoming messages ───────────────────────────────────────────────────────────────────────────

  private onMessage(topic: string, payload: Buffer): void {
    const { stats } = this.context;
    stats.messagesReceived++;
    if (this.currentState === 'stopped') return;
    const decoded = decodeOtaMessage(topic, payload);
    if (!decoded.ok) {
      stats.malformedReceived++;
      const { id, topic: parsed, message } = decoded.error;
      this.context.log(`${this.deviceKey}: malformed message on ${topic}: ${message}`);
      // Answer malformed commands with 400 so the cloud learns about it; never answer replies.
      if (id !== null && parsed && !parsed.isReply && (parsed.kind === 'upgrade' || parsed.kind === 'cancel')) {
        stats.badRequestReplies++;
        this.sendReply(parsed.kind, id, REPLY_CODE.BAD_REQUEST, { message });
      }
      return;
    }
    const message = decoded.message;
    if (message.productKey !== this.productKey || message.deviceKey !== this.deviceKey) return;

    if (message.kind === 'upgrade' && !message.isReply) {
      this.onPush(message.request.params, message.request.id);
    } else if (message.kind === 'cancel' && !message.isReply) {
      this.onCancel(message.request.params.jobId, message.request.id);
    } else if (message.kind === 'getversion' && message.isReply) {
      const [push] = message.reply.data;
      if (push) this.onPush(push, null);
    } else if (message.kind === 'progress' && message.isReply) {
      if (message.reply.code === REPLY_CODE.NO_TASK || message.reply.code === REPLY_CODE.TASK_NOT_STARTED) {
        // The cloud has no task for this report. A real device would log it; it keeps going, since
        // only the cloud's cancel command stops an upgrade.
        stats.progressRejected++;
      }
    }
  }

  /** The failure behaviour for the next attempt, or null when this attempt should go through. */
  private failureForNextAttempt(): FailureBehaviour | null {
    if (!isFailureBehaviour(this.behaviour)) return null;
    return this.attempts < this.context.settings.failAttempts ? this.behaviour : null;
  }

  /** An upgrade push, from the upgrade topic (`requestId` set: reply to it) or a getversion reply. */
  private onPush(push: UpgradeParams, requestId: string | null): void {
    const { stats } = this.context;
    if (requestId === null) stats.pushesFromGetVersion++;
    else stats.pushesReceived++;
    const reply = (code: number, data: unknown = {}) => {
      if (requestId !== null) this.sendReply('upgrade', requestId, code, data);
    };

    if (this.currentState === 'hung') {
      // Silent, as hung firmware is: until the failure behaviour is spent, then the push acts as a power cycle.
      if (this.failureForNextAttempt() !== null) return;
      this.currentState = 'idle';
    }
    if (this.run && this.run.push.jobId === push.jobId) {
      // The same job again (QoS 1 redelivery, or getversion while upgrading): already on it.
      reply(REPLY_CODE.OK);
      return;
    }
    if (this.run || this.currentState === 'rebooting') {
      stats.busyRejected++;
      reply(BUSY_REPLY_CODE, { message: `busy upgrading job ${this.run?.push.jobId ?? '(rebooting)'}` });
      return;
    }

    if (push.version === this.currentVersion) {
      // Already running the target (e.g. a getversion answered before the cloud saw our last inform):
      // accept and inform, which is what completes an upgrade, instead of flashing the same image.
      reply(REPLY_CODE.OK);
      this.sendRequest('inform', { version: this.currentVersion });
      return;
    }
    const failure = this.failureForNextAttempt();
    this.attempts++;
    if (failure === 'decline') {
      stats.declined++;
      // A push from getversion has no request to answer; the declining device just ignores it.
      reply(DECLINE_REPLY_CODE, { message: 'device declined the upgrade (simulated)' });
      return;
    }
    reply(REPLY_CODE.OK);
    this.startRun(push, failure);
  }

  private onCancel(jobId: string, requestId: string): void {
    if (this.currentState === 'hung') return;
    if (this.run && this.run.push.jobId === jobId) {
      this.endRun(this.run);
      this.currentState = 'idle';
      this.context.stats.cancelled++;
    }
    // Also 200 when there is nothing to cancel: the state the cloud asks for holds either way.
    this.sendReply('cancel', requestId, REPLY_CODE.OK);
  }

  // ── Upgrade run ─────────────────────────────────────────────────────────────────────────────────

  private startRun(push: UpgradeParams, failure: FailureBehaviour | null): void {
    const { settings, stats, scheduler } = this.context;
    const failAt =
      failure === 'writeFail'
        ? randomInt(this.random, DOWNLOAD_SHARE + 10, 90)
        : failure === 'undefinedFail'
          ? randomInt(this.random, 10, 90)
          : failure === 'hang'
            ? randomInt(this.random, 10, 60)
            : 101;
    const run: UpgradeRun = {
      push,
      failure,
      failAt,
      startedAt: scheduler.now(),
      durationMs: settings.upgradeMs * (this.behaviour === 'slow' ? this.slowFactor : 1),
      nextIndex: 0,
      timer: null,
      waiting: false,
      received: 0,
      verified: false,
      abort: new AbortController(),
      finished: false,
    };
    this.run = run;
    this.currentState = 'upgrading';
    stats.upgradesStarted++;
    this.reportDue(run); // step "0" right away: the task moves to In Progress
    void this.download(run);
  }

  private percentAt(index: number): number {
    return Math.round((100 * index) / this.context.settings.progressReports);
  }

  /** How far the device may truthfully claim to be: download share by bytes, the rest once verified. */
  private allowedPercent(run: UpgradeRun): number {
    if (run.verified) return 100;
    const size = Math.max(1, run.push.fileSize);
    return Math.min(DOWNLOAD_SHARE, Math.floor((DOWNLOAD_SHARE * run.received) / size));
  }

  private reportDue(run: UpgradeRun): void {
    if (run.finished) return;
    run.timer = null;
    const percent = this.percentAt(run.nextIndex);
    if (percent > this.allowedPercent(run)) {
      run.waiting = true; // resumed by download progress
      return;
    }
    if (run.failure === 'hang' && percent >= run.failAt) {
      this.hang(run);
      return;
    }
    if (run.failure === 'writeFail' && percent >= run.failAt) {
      this.fail(run, PROGRESS_STEP.WRITE_FAILED, `flash write failed at ${percent}% (simulated)`);
      return;
    }
    if (run.failure === 'undefinedFail' && percent >= run.failAt) {
      this.fail(run, PROGRESS_STEP.UNDEFINED_FAILURE, `unexpected error at ${percent}% (simulated)`);
      return;
    }
    this.sendRequest('progress', { step: String(percent), desc: percent === 100 ? 'upgrade complete' : '' });
    run.nextIndex++;
    if (percent >= 100) {
      this.reboot(run);
      return;
    }
    const due = run.startedAt + (run.durationMs * run.nextIndex) / this.context.settings.progressReports;
    run.timer = this.context.scheduler.at(due, () => this.reportDue(run));
  }

  /** The download moved on: if a report was waiting for it, send it now and shift the schedule. */
  private resumeIfWaiting(run: UpgradeRun): void {
    if (!run.waiting || run.finished || this.percentAt(run.nextIndex) > this.allowedPercent(run)) return;
    run.waiting = false;
    const elapsedShare = (run.durationMs * run.nextIndex) / this.context.settings.progressReports;
    run.startedAt = this.context.scheduler.now() - elapsedShare;
    this.reportDue(run);
  }

  private async download(run: UpgradeRun): Promise<void> {
    const { settings, stats } = this.context;
    const { push } = run;
    let result: DownloadResult;
    try {
      result = await downloadFirmware({
        url: push.fileUrl,
        expectedSize: push.fileSize,
        signMethod: push.signMethod,
        signal: run.abort.signal,
        maxResumes: settings.maxResumes,
        resumeDelayMs: settings.resumeDelayMs,
        idleTimeoutMs: settings.downloadIdleTimeoutMs,
        corrupt: run.failure === 'corrupt',
        abortAfterBytes: run.failure === 'downloadFail' ? Math.floor(push.fileSize / 2) : undefined,
        httpAgent: this.context.httpAgent,
        httpsAgent: this.context.httpsAgent,
        onProgress: (received) => {
          stats.bytesDownloaded += received - run.received;
          run.received = received;
          this.resumeIfWaiting(run);
        },
      });
    } catch (error) {
      result = { ok: false, failure: 'download', desc: `download crashed: ${(error as Error).message}`, resumes: 0 };
    }
    stats.downloadResumes += result.resumes;
    if (run.finished) return;
    if (!result.ok) {
      if (result.failure === 'cancelled') return;
      const step = result.failure === 'oversize' ? PROGRESS_STEP.VERIFICATION_FAILED : PROGRESS_STEP.DOWNLOAD_FAILED;
      return this.fail(run, step, result.desc);
    }
    if (run.failure === 'downloadFail') {
      // Only reached when the file was too small to stop half way.
      return this.fail(run, PROGRESS_STEP.DOWNLOAD_FAILED, 'download aborted (simulated failure)');
    }
    if (result.bytes !== push.fileSize) {
      return this.fail(run, PROGRESS_STEP.VERIFICATION_FAILED, `size ${result.bytes} bytes, expected ${push.fileSize}`);
    }
    if (result.digest !== push.sign.toLowerCase()) {
      return this.fail(run, PROGRESS_STEP.VERIFICATION_FAILED, `${push.signMethod} ${result.digest} does not match sign ${push.sign}`);
    }
    run.verified = true;
    this.resumeIfWaiting(run);
  }

  private endRun(run: UpgradeRun): void {
    run.finished = true;
    run.timer?.cancel();
    run.timer = null;
    run.abort.abort();
    if (this.run === run) this.run = null;
  }

  private fail(run: UpgradeRun, step: string, desc: string): void {
    const { stats } = this.context;
    this.endRun(run);
    this.currentState = 'idle';
    if (step === PROGRESS_STEP.DOWNLOAD_FAILED) stats.downloadFailed++;
    else if (step === PROGRESS_STEP.VERIFICATION_FAILED) stats.verificationFailed++;
    else if (step === PROGRESS_STEP.WRITE_FAILED) stats.writeFailed++;
    else stats.undefinedFailed++;
    this.sendRequest('progress', { step, desc });
  }

  private hang(run: UpgradeRun): void {
    this.endRun(run);
    this.currentState = 'hung';
    this.context.stats.hung++;
  }

  /** After "100": disconnect cleanly, "flash" for rebootMs, reconnect and inform the new version. */
  private reboot(run: UpgradeRun): void {
    this.endRun(run);
    this.currentState = 'rebooting';
    this.pendingVersion = run.push.version;
    // A clean disconnect waits for the reports in flight; a device reboots anyway when the broker is
    // unreachable (those reports are lost: the inform after the reboot completes the upgrade).
    void this.closeClient(!this.isConnected, 2000).then(() => {
      if (this.currentState !== 'rebooting') return;
      this.later(this.context.settings.rebootMs, () => this.connect());
    });
  }
}
