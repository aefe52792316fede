/**
 * Worker: a fleet of lean device connections (mqtt-device.ts) and what they do in the scenarios.
 *
 * - `progress`: every device reports progress steps in order, each as soon as the previous one was
 *   acknowledged (closed loop: the server sets the pace), or at a fixed total rate (open loop).
 *   Every send time is kept, so that a subscriber's receipt can be matched to its report.
 * - `rollout`: devices answer pushes as a fast device would: accept, report 50 and 100, inform the
 *   new version; a device that finished leaves and the next one of the fleet connects, so that the
 *   number of connections stays under the machine's limit of open files.
 */
import { performance } from 'node:perf_hooks';
import { serve } from '../workers.js';
import { DeviceConnection, openDevices, type DeviceIdentity } from './mqtt-device.js';

export interface FleetSpec {
  productKey: string;
  prefix: string;
  from: number;
  count: number;
  secret: string;
  /** The version devices start on. */
  version?: string;
}

const keyOf = (prefix: string, i: number) => `${prefix}-${String(i).padStart(7, '0')}`;
function identities(spec: FleetSpec): DeviceIdentity[] {
  return Array.from({ length: spec.count }, (_, i) => ({ productKey: spec.productKey, deviceKey: keyOf(spec.prefix, spec.from + i), secret: spec.secret }));
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
const now = () => performance.timeOrigin + performance.now();

let connections: DeviceConnection[] = [];
/** Each device's version as it last informed it (devices keep their upgrades between rollouts). */
const versions = new Map<string, string>();
const replyCodes = new Map<number, number>();

function countReply(_topic: string, payload: Buffer): void {
  const code = /"code":(\d+)/.exec(payload.toString('latin1'))?.[1];
  if (code) replyCodes.set(Number(code), (replyCodes.get(Number(code)) ?? 0) + 1);
}

serve({
  async connect(args: { host: string; port: number; fleet: FleetSpec; concurrency?: number }) {
    const started = now();
    connections = await openDevices(identities(args.fleet), { host: args.host, port: args.port, concurrency: args.concurrency ?? 200, onMessage: countReply });
    return { connected: connections.length, ms: now() - started };
  },

  /**
   * Steps `fromStep`..`toStep` from every device, for at most `seconds`. Closed loop unless
   * `ratePerSecond` is given. Returns what was acknowledged, and per device its last acknowledged
   * step and the send time of each step (for latency matching).
   */
  async progress(args: { fromStep: number; toStep: number; seconds: number; ratePerSecond?: number; keepSendTimes?: boolean; awaitReply?: boolean }) {
    replyCodes.clear();
    const deadline = now() + args.seconds * 1000;
    const lastAcked = new Array<number>(connections.length).fill(args.fromStep - 1);
    const sendTimes: number[][] = args.keepSendTimes ? connections.map(() => []) : [];
    const ackTimes: number[] = [];
    const latencies: number[] = [];
    let sent = 0;
    const started = now();
    const sendOne = async (i: number, step: number) => {
      const at = now();
      if (args.keepSendTimes) sendTimes[i][step] = at;
      sent++;
      await connections[i].request('progress', `p${step}`, { step: String(step), desc: '' }, args.awaitReply);
      const acked = now();
      ackTimes.push(acked);
      latencies.push(acked - at);
      lastAcked[i] = step;
    };
    if (!args.ratePerSecond) {
      await Promise.all(
        connections.map(async (_, i) => {
          for (let step = args.fromStep; step <= args.toStep && now() < deadline; step++) await sendOne(i, step);
        }),
      );
    } else {
      // Open loop: round-robin over the devices at the given total rate, in ticks of 10 ms.
      const inFlight: Promise<void>[] = [];
      const nextStep = new Array<number>(connections.length).fill(args.fromStep);
      let device = 0;
      let due = 0;
      const tickMs = 10;
      while (now() < deadline) {
        due += (args.ratePerSecond * tickMs) / 1000;
        for (; due >= 1; due--) {
          let tries = 0;
          while (nextStep[device] > args.toStep && tries++ < connections.length) device = (device + 1) % connections.length;
          if (nextStep[device] > args.toStep) break;
          inFlight.push(sendOne(device, nextStep[device]++));
          device = (device + 1) % connections.length;
        }
        await new Promise((resolve) => setTimeout(resolve, tickMs));
      }
      await Promise.all(inFlight);
    }
    return {
      sent,
      acked: ackTimes.length,
      startedAt: started,
      ackTimes,
      latencies,
      lastAcked,
      sendTimes,
      replies: Object.fromEntries(replyCodes),
    };
  },

  /**
   * A rollout seen from the fleet: devices connect in key order, at most `window` at a time, and
   * say their version; a pushed device accepts, reports 50 and 100 and informs the pushed version,
   * then leaves, and the next device connects. Resolves once every device has upgraded (or after
   * `timeoutSeconds`), with when pushes arrived.
   */
  async rollout(args: { host: string; port: number; fleet: FleetSpec; window: number; timeoutSeconds: number; concurrency?: number }) {
    const all = identities(args.fleet);
    const pushTimes: number[] = [];
    let next = 0;
    let connected = 0;
    let upgraded = 0;
    let failures = 0;
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const started = now();

    const upgrade = async (connection: DeviceConnection, payload: Buffer) => {
      const push = JSON.parse(payload.toString()) as { id: string; params: { version: string } };
      pushTimes.push(now());
      await connection.reply('upgrade', push.id);
      await connection.request('progress', 'p50', { step: '50', desc: '' }, true);
      await connection.request('progress', 'p100', { step: '100', desc: '' }, true);
      versions.set(connection.device.deviceKey, push.params.version);
      await connection.request('inform', 'done', { version: push.params.version });
    };
    const start = async (device: DeviceIdentity) => {
      let upgrading = false;
      const connection = new DeviceConnection(device, {
        host: args.host,
        port: args.port,
        localAddress: args.host === '127.0.0.1' ? `127.0.0.${1 + (next % 8)}` : undefined,
        onMessage: (topic, payload) => {
          if (topic.endsWith('/upgrade') && !upgrading) {
            upgrading = true;
            upgrade(connection, payload).catch(() => failures++);
          } else if (topic.endsWith('/inform_reply') && upgrading && payload.includes('"done"')) {
            upgraded++;
            connection.end();
          }
        },
        onClose: () => {
          connected--;
          if (upgraded >= all.length || now() - started > args.timeoutSeconds * 1000) finish();
          else fill();
        },
      });
      connected++;
      try {
        await connection.open();
        await connection.request('inform', 'hello', { version: versions.get(device.deviceKey) ?? args.fleet.version ?? '1.0.0' });
      } catch {
        // Refused or reset while the broker was busy: this device tries again shortly.
        failures++;
        connection.destroy();
        setTimeout(() => void start(device), 500);
      }
    };
    const fill = () => {
      while (connected < args.window && next < all.length) void start(all[next++]);
    };
    fill();
    const timer = setTimeout(finish, args.timeoutSeconds * 1000);
    await finished;
    clearTimeout(timer);
    return { upgraded, failures, pushTimes, startedAt: started };
  },

  replies() {
    return Object.fromEntries(replyCodes);
  },

  async close() {
    for (const c of connections) c.destroy();
    connections = [];
  },
});
