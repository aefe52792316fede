/**
 * The library entry of the simulator: `startFleet` runs many virtual devices in this process, sharing
 * one clock, one stats object, one HTTP agent and a connect-rate limiter.
 */
import http from 'node:http';
import https from 'node:https';
import { assignBehaviours, parseBehaviourMix, validateBehaviourMix, type BehaviourMix } from './behaviour.js';
import { VirtualDevice, type DeviceContext, type DeviceSettings } from './device.js';
import { parseFleet, type FleetDeviceSpec } from './fleet-file.js';
import { Scheduler } from './scheduler.js';
import { createFleetStats, type FleetStats } from './stats.js';

export interface FleetOptions {
  devices: FleetDeviceSpec[];
  /** e.g. `mqtt://127.0.0.1:1883`. */
  mqttUrl: string;
  /** Share of devices per behaviour, as an object or the CLI's `offline=0.05,decline=0.02` text. Default: all normal. */
  behaviour?: BehaviourMix | string;
  /** Seed for the behaviour assignment and per-device randomness. Default 1. */
  seed?: number;
  /** Nominal upgrade duration (accept → 100). Default 20. `slow` devices take 5–10× longer. */
  upgradeSeconds?: number;
  /** Pause between reporting 100 and reconnecting with the new version. Default 2. */
  rebootSeconds?: number;
  /** Progress reports after "0" (evenly spaced). Default 10: 0, 10, …, 100. */
  progressReports?: number;
  /** Failure behaviours act on this many attempts, then the device upgrades normally. Default: forever. */
  failAttempts?: number;
  /** When set, `offline` devices connect after this delay instead of never. */
  offlineDelaySeconds?: number | null;
  /** New connections per second at start. Default 200; 0 or Infinity: no limit. */
  connectRate?: number;
  /** Resumes of a dropped download before reporting -2. Default 3. */
  maxResumes?: number;
  resumeDelayMs?: number;
  downloadIdleTimeoutMs?: number;
  keepaliveSeconds?: number;
  /** Resolve only once every device that connects at start has connected. Default true. */
  waitForConnect?: boolean;
  /** Limit for `waitForConnect`. Default: 30 s plus the time the connect rate needs. */
  connectTimeoutMs?: number;
  log?: (message: string) => void;
}

export interface Fleet {
  readonly devices: readonly VirtualDevice[];
  /** Live counters; read them any time. */
  readonly stats: FleetStats;
  device(deviceKey: string, productKey?: string): VirtualDevice | undefined;
  /** Resolves when every device that connects at start has connected once; rejects after the timeout. */
  whenConnected(timeoutMs?: number): Promise<void>;
  /** Ends every connection, download and timer. */
  stop(): Promise<void>;
}

const CONNECT_TICK_MS = 20;

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
  return value;
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const specs = parseFleet(options.devices);
  const mix = typeof options.behaviour === 'string' ? parseBehaviourMix(options.behaviour) : (options.behaviour ?? {});
  validateBehaviourMix(mix);
  const seed = options.seed ?? 1;
  const connectRate = options.connectRate ?? 200;
  const log = options.log ?? (() => {});
  const settings: DeviceSettings = {
    mqttUrl: options.mqttUrl,
    seed,
    upgradeMs: positive('upgradeSeconds', options.upgradeSeconds ?? 20) * 1000,
    rebootMs: positive('rebootSeconds', options.rebootSeconds ?? 2) * 1000,
    progressReports: Math.max(1, Math.floor(options.progressReports ?? 10)),
    failAttempts: options.failAttempts ?? Number.POSITIVE_INFINITY,
    offlineDelayMs: options.offlineDelaySeconds == null ? null : positive('offlineDelaySeconds', options.offlineDelaySeconds) * 1000,
    maxResumes: options.maxResumes ?? 3,
    resumeDelayMs: options.resumeDelayMs ?? 500,
    downloadIdleTimeoutMs: options.downloadIdleTimeoutMs ?? 30_000,
    keepaliveSeconds: options.keepaliveSeconds ?? 60,
  };

  const scheduler = new Scheduler(Date.now, (error) => log(`simulator task failed: ${String(error)}`));
  const stats = createFleetStats(specs.length);
  const httpAgent = new http.Agent({ keepAlive: true });
  const httpsAgent = new https.Agent({ keepAlive: true });

  // Connect-rate limiter: one queue and one ticking task, however many devices wait. The budget
  // (connections allowed now) refills at `connectRate` per second, capped so an idle spell does not
  // save up a burst.
  const unlimited = connectRate === 0 || !Number.isFinite(connectRate);
  const burst = Math.max(1, connectRate / 10); // 100 ms worth
  const queue: VirtualDevice[] = [];
  let queueHead = 0;
  let ticking = false;
  let budget = 1;
  let lastTick = Date.now();
  const drain = () => {
    const now = Date.now();
    budget = Math.min(budget + ((now - lastTick) * connectRate) / 1000, burst);
    lastTick = now;
    while (queueHead < queue.length && budget >= 1) {
      budget -= 1;
      queue[queueHead++]!.connect();
    }
    if (queueHead >= queue.length) {
      queue.length = 0;
      queueHead = 0;
      ticking = false;
      return;
    }
    scheduler.after(CONNECT_TICK_MS, drain);
  };

  const context: DeviceContext = {
    settings,
    scheduler,
    stats,
    httpAgent,
    httpsAgent,
    log,
    requestConnect(device) {
      if (unlimited) return device.connect();
      queue.push(device);
      if (!ticking) {
        // Drain on the next turn, not now: the fleet queues all its devices first.
        ticking = true;
        scheduler.after(0, drain);
      }
    },
  };

  const behaviours = assignBehaviours(
    specs.length,
    mix,
    seed,
    specs.map((spec) => spec.behaviour),
  );
  const devices = specs.map((spec, i) => new VirtualDevice(spec, behaviours[i]!, context));
  const byKey = new Map(devices.map((device) => [`${device.productKey}/${device.deviceKey}`, device]));

  let stopped = false;
  const fleet: Fleet = {
    devices,
    stats,
    device(deviceKey, productKey) {
      if (productKey !== undefined) return byKey.get(`${productKey}/${deviceKey}`);
      return devices.find((device) => device.deviceKey === deviceKey);
    },
    whenConnected(timeoutMs) {
      const expected = devices.filter((device) => device.connectsAtStart);
      const limit = timeoutMs ?? options.connectTimeoutMs ?? 30_000 + (unlimited ? 0 : (expected.length / connectRate) * 1000);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const connected = expected.filter((device) => device.connected).length;
          reject(new Error(`only ${connected} of ${expected.length} devices connected within ${limit} ms`));
        }, limit);
      });
      return Promise.race([Promise.all(expected.map((device) => device.whenConnected())).then(() => {}), timeout]).finally(() => clearTimeout(timer));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(devices.map((device) => device.stop()));
      scheduler.stop();
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };

  for (const device of devices) device.start();
  if (options.waitForConnect ?? true) {
    try {
      await fleet.whenConnected();
    } catch (error) {
      await fleet.stop();
      throw error;
    }
  }
  return fleet;
}
