/**
 * A tiny stand-in for the Updraft server, for the simulator's tests: an MQTT client on the real
 * broker that records what devices publish and sends pushes/cancels, plus an HTTP server that serves
 * firmware files, optionally misbehaving (dropping the connection half way, ignoring Range, 404).
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import {
  decodeOtaMessage,
  encodeReply,
  encodeRequest,
  otaTopic,
  REPLY_CODE,
  type OtaMessage,
  type RequestKind,
  type UpgradeParams,
} from '../../devices/protocol.js';
import type { SignMethod } from '../../db/sign-methods.js';

export const BROKER_URL = process.env.SIMULATOR_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';

/** A product key no other test run uses, so parallel runs on one broker do not see each other. */
export function uniqueProductKey(): string {
  return `t${randomBytes(6).toString('hex')}`;
}

export interface Recorded {
  at: number;
  message: OtaMessage;
}

/** How the HTTP server serves one file. */
export type ServeMode =
  | 'normal'
  /** The first request gets half the bytes and a dropped connection; later (Range) requests are served. */
  | 'dropHalfOnce'
  /** Every request is dropped half way: resuming never completes. */
  | 'dropHalfAlways'
  /** Like dropHalfOnce, but answers the Range request with the whole file and 200. */
  | 'dropHalfOnceIgnoreRange'
  | 'notFound';

interface ServedFile {
  data: Buffer;
  mode: ServeMode;
  requests: number;
}

export interface FirmwareFile {
  url: string;
  size: number;
  md5: string;
  sha256: string;
  data: Buffer;
}

export interface HttpRequestRecord {
  path: string;
  range: string | undefined;
}

export class FakeCloud {
  readonly received: Recorded[] = [];
  readonly httpRequests: HttpRequestRecord[] = [];
  /** Pushes returned by the getversion reply, per device key. */
  readonly pending = new Map<string, UpgradeParams[]>();
  /** Code of progress replies (the gateway's 200/764/765). */
  progressReplyCode: number = REPLY_CODE.OK;
  private readonly files = new Map<string, ServedFile>();
  private readonly waiters = new Set<() => void>();
  private seq = 0;
  private fileSeq = 0;

  private constructor(
    readonly productKey: string,
    private readonly client: MqttClient,
    private readonly server: http.Server,
  ) {}

  static async start(productKey = uniqueProductKey()): Promise<FakeCloud> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = await mqtt.connectAsync(BROKER_URL, { clientId: `cloud-${productKey}`, clean: true, reconnectPeriod: 0 });
    const cloud = new FakeCloud(productKey, client, server);
    server.on('request', (req, res) => cloud.serve(req, res));
    client.on('message', (topic, payload) => cloud.onMessage(topic, payload));
    await client.subscribeAsync(`/sys/${productKey}/+/ota/device/#`, { qos: 1 });
    return cloud;
  }

  get baseUrl(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** Registers a firmware file of `size` random bytes (or the given bytes) and returns its URL and digests. */
  addFirmware(size: number, mode: ServeMode = 'normal', data: Buffer = randomBytes(size)): FirmwareFile {
    const path = `/firmware/${++this.fileSeq}/download`;
    this.files.set(path, { data, mode, requests: 0 });
    return {
      url: `${this.baseUrl}${path}?token=abc`,
      size: data.length,
      data,
      md5: createHash('md5').update(data).digest('hex'),
      sha256: createHash('sha256').update(data).digest('hex'),
    };
  }

  /** A push for `file`, by default with its correct MD5 sign. */
  pushFor(file: FirmwareFile, jobId: string, version: string, signMethod: SignMethod = 'MD5'): UpgradeParams {
    return {
      jobId,
      version,
      signMethod,
      sign: signMethod === 'MD5' ? file.md5 : file.sha256,
      fileUrl: file.url,
      fileSize: file.size,
    };
  }

  /** Publishes an upgrade push and returns its request id. */
  push(deviceKey: string, params: UpgradeParams): string {
    const id = `push-${++this.seq}`;
    this.client.publish(otaTopic(this.productKey, deviceKey, 'upgrade'), encodeRequest('upgrade', id, params), { qos: 1 });
    return id;
  }

  cancel(deviceKey: string, jobId: string): string {
    const id = `cancel-${++this.seq}`;
    this.client.publish(otaTopic(this.productKey, deviceKey, 'cancel'), encodeRequest('cancel', id, { jobId }), { qos: 1 });
    return id;
  }

  publishRaw(deviceKey: string, kind: RequestKind, payload: string | Buffer): void {
    this.client.publish(otaTopic(this.productKey, deviceKey, kind), payload, { qos: 1 });
  }

  /** Messages from one device, oldest first. */
  from(deviceKey: string): OtaMessage[] {
    return this.received.filter((r) => r.message.deviceKey === deviceKey).map((r) => r.message);
  }

  /** The progress steps one device reported, in order. */
  steps(deviceKey: string): string[] {
    return this.from(deviceKey).flatMap((m) => (m.kind === 'progress' && !m.isReply ? [m.request.params.step] : []));
  }

  progressReports(deviceKey: string) {
    return this.from(deviceKey).flatMap((m) => (m.kind === 'progress' && !m.isReply ? [m.request.params] : []));
  }

  informs(deviceKey: string): string[] {
    return this.from(deviceKey).flatMap((m) => (m.kind === 'inform' && !m.isReply ? [m.request.params.version] : []));
  }

  /** The reply to a request this cloud sent, if it arrived. */
  replyTo(deviceKey: string, id: string): { code: number; data: unknown } | undefined {
    for (const m of this.from(deviceKey)) {
      if (m.isReply && m.reply.id === id) return { code: m.reply.code, data: m.reply.data };
    }
    return undefined;
  }

  /** Waits until `check` returns a value other than undefined/false, re-checking on every message and every 20 ms. */
  async waitFor<T>(check: () => T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
    const first = check();
    if (first !== undefined && first !== false) return first;
    return new Promise<T>((resolve, reject) => {
      const waiter = () => {
        const value = check();
        if (value === undefined || value === false) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      // Device state (not only messages) can be what we wait for.
      const poll = setInterval(waiter, 20);
      const cleanup = () => {
        clearTimeout(timer);
        clearInterval(poll);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
    });
  }

  waitForReply(deviceKey: string, id: string, timeoutMs?: number) {
    return this.waitFor(() => this.replyTo(deviceKey, id), timeoutMs, `reply to ${id} from ${deviceKey}`);
  }

  waitForStep(deviceKey: string, step: string, timeoutMs?: number) {
    return this.waitFor(() => this.steps(deviceKey).includes(step), timeoutMs, `step ${step} from ${deviceKey}`);
  }

  waitForInform(deviceKey: string, version: string, timeoutMs?: number) {
    return this.waitFor(() => this.informs(deviceKey).includes(version), timeoutMs, `inform ${version} from ${deviceKey}`);
  }

  async stop(): Promise<void> {
    await this.client.endAsync(true);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onMessage(topic: string, payload: Buffer): void {
    const decoded = decodeOtaMessage(topic, payload);
    if (!decoded.ok) return; // our own raw test publishes, echoed back
    const message = decoded.message;
    // The wildcard subscription also brings back what this cloud sent: its pushes, cancels and replies.
    const fromCloud = (message.kind === 'upgrade' || message.kind === 'cancel') !== message.isReply;
    if (fromCloud) return;
    this.received.push({ at: Date.now(), message });
    if (!message.isReply) {
      const replyTopic = `${topic}_reply`;
      if (message.kind === 'getversion') {
        const pushes = this.pending.get(message.deviceKey) ?? [];
        this.client.publish(replyTopic, encodeReply(message.request.id, REPLY_CODE.OK, pushes), { qos: 1 });
      } else if (message.kind === 'progress') {
        this.client.publish(replyTopic, encodeReply(message.request.id, this.progressReplyCode), { qos: 1 });
      } else if (message.kind === 'inform') {
        this.client.publish(replyTopic, encodeReply(message.request.id, REPLY_CODE.OK), { qos: 1 });
      }
    }
    for (const waiter of [...this.waiters]) waiter();
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    this.httpRequests.push({ path, range: req.headers.range });
    const file = this.files.get(path);
    if (!file || file.mode === 'notFound') {
      res.writeHead(404).end('not found');
      return;
    }
    file.requests++;
    const { data } = file;
    const dropHalf = file.mode === 'dropHalfAlways' || ((file.mode === 'dropHalfOnce' || file.mode === 'dropHalfOnceIgnoreRange') && file.requests === 1);
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && file.mode !== 'dropHalfOnceIgnoreRange') {
      const start = Number(range[1]);
      const body = data.subarray(start);
      res.writeHead(206, {
        'content-length': body.length,
        'content-range': `bytes ${start}-${data.length - 1}/${data.length}`,
      });
      if (dropHalf) this.dropAfter(res, body.subarray(0, Math.floor(body.length / 2)));
      else res.end(body);
      return;
    }
    res.writeHead(200, { 'content-length': data.length, 'accept-ranges': 'bytes' });
    if (dropHalf) this.dropAfter(res, data.subarray(0, Math.floor(data.length / 2)));
    else res.end(data);
  }

  /** Sends `part`, then kills the socket: the client sees a body shorter than its Content-Length. */
  private dropAfter(res: http.ServerResponse, part: Buffer): void {
    res.write(part, () => setTimeout(() => res.socket?.destroy(), 50));
  }
}
