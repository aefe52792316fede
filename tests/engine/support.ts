/**
 * Helpers for the engine and gateway tests: a server with the engine on a fast clock, a product
 * with registered devices and uploaded firmware (through the domain functions, as an operator would
 * through the API), and conditions to wait for. Devices are the real simulator, over real MQTT.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { startServer } from '@updraft/server/app.js';
import { loadConfig, type ServerConfig } from '@updraft/server/config.js';
import { PERMISSIONS } from '@updraft/server/db/schema.js';
import type { Caller } from '@updraft/server/domain/caller.js';
import { registerDevices } from '@updraft/server/domain/devices.js';
import { uploadFirmware } from '@updraft/server/domain/firmware.js';
import { createUpgradeJob, createVerificationJob, type CreateUpgradeJobInput } from '@updraft/server/domain/jobs/create.js';
import { createProduct } from '@updraft/server/domain/products.js';
import { queryRows } from '@updraft/server/db/sql.js';
import { inTransaction } from '@updraft/server/domain/transaction.js';
import type { AppServices } from '@updraft/server/services.js';
import type { FleetDeviceSpec } from '@updraft/server/simulator/index.js';
import { createTestDatabase } from '../support/database.js';
import { startTestServer, type TestServer, type TestServerOptions } from '../support/server.js';

/** Mosquitto, when the run provides one (CI does). */
export const externalMqttUrl = process.env.MQTT_TEST_URL;

/** Engine settings for tests: a "minute" of job settings lasts `engineMinuteMs`. */
export const FAST_ENGINE: Partial<ServerConfig> = {
  engineSweepMs: 100,
  engineMinuteMs: 1000,
  reportBatchMs: 10,
  repushAfterMs: 60_000,
  mqttPort: 0,
  mqttHost: '127.0.0.1',
};

export async function startEngineServer(overrides: Partial<ServerConfig> = {}, options: TestServerOptions = {}): Promise<TestServer> {
  return startTestServer({ ...FAST_ENGINE, ...overrides }, options);
}

/** The device URL of the server's gateway. */
export function mqttUrlOf(ts: TestServer): string {
  const gateway = ts.server.rollout.gateway;
  if (!gateway) throw new Error('the server runs without its gateway');
  return gateway.deviceUrl;
}

/** An operator of the server's first organisation unit with every permission. */
export async function operator(services: AppServices): Promise<Caller> {
  const [ou] = await queryRows<{ id: string }>(services.db, sql`select id from organisation_units order by created_at limit 1`);
  return { userId: null, displayName: 'Test operator', ouId: ou.id, permissions: new Set(PERMISSIONS) };
}

export interface TestFleet {
  caller: Caller;
  productKey: string;
  /** Credentials for the simulator, in registration order. */
  devices: FleetDeviceSpec[];
  firmware: { id: string; version: string };
  /** Registers more devices (they are not in `devices` until then). */
  register(specs: { deviceKey: string; version: string; tags?: Record<string, string> }[]): Promise<FleetDeviceSpec[]>;
}

export async function setUpFleet(
  services: AppServices,
  options: { productKey: string; count: number; version?: string; keyPrefix?: string; firmwareVersion?: string; firmwareBytes?: number },
): Promise<TestFleet> {
  const caller = await operator(services);
  await createProduct(services.db, caller, { productKey: options.productKey, name: options.productKey, description: '' });
  const register = async (specs: { deviceKey: string; version: string; tags?: Record<string, string> }[]) => {
    const registered: FleetDeviceSpec[] = [];
    for (let i = 0; i < specs.length; i += 5000) {
      const chunk = specs.slice(i, i + 5000);
      const rows = await inTransaction(services, (scope) =>
        registerDevices(scope, caller, {
          productKey: options.productKey,
          devices: chunk.map((d) => ({ deviceKey: d.deviceKey, firmwareVersion: d.version, tags: d.tags ?? {} })),
        }),
      );
      registered.push(
        ...rows.map((r) => ({ productKey: options.productKey, deviceKey: r.device.deviceKey, secret: r.secret, version: r.device.firmwareVersion! })),
      );
    }
    return registered;
  };
  const prefix = options.keyPrefix ?? 'dev';
  const devices = await register(
    Array.from({ length: options.count }, (_, i) => ({ deviceKey: `${prefix}-${String(i).padStart(5, '0')}`, version: options.version ?? '1.0.0' })),
  );
  const firmwareVersion = options.firmwareVersion ?? '2.0.0';
  const firmware = await uploadFirmware(services, caller, {
    productKey: options.productKey,
    name: `fw ${firmwareVersion}`,
    version: firmwareVersion,
    signMethod: 'SHA256',
    description: '',
    requireVerification: false,
    file: { name: 'fw.bin', stream: Readable.from([randomBytes(options.firmwareBytes ?? 4096)]) },
  });
  return { caller, productKey: options.productKey, devices, firmware: { id: firmware.id, version: firmware.version }, register };
}

export async function upgradeJob(services: AppServices, fleet: TestFleet, input: Omit<CreateUpgradeJobInput, 'firmwareId' | 'name'> & { name?: string }) {
  return inTransaction(services, (scope) => createUpgradeJob(scope, fleet.caller, { name: 'test rollout', firmwareId: fleet.firmware.id, ...input }));
}

export async function verificationJob(services: AppServices, fleet: TestFleet, deviceKeys: string[], firmwareId = fleet.firmware.id) {
  return inTransaction(services, (scope) => createVerificationJob(scope, fleet.caller, { name: 'verify', firmwareId, deviceKeys }));
}

export interface TaskRow {
  device_key: string;
  status: string;
  progress: number;
  failure_reason: string | null;
  failure_detail: string | null;
  waiting_reason: string | null;
  attempt: number;
  current_version: string | null;
}

export async function tasksOf(services: AppServices, jobId: string): Promise<Map<string, TaskRow>> {
  const rows = await queryRows<TaskRow>(
    services.db,
    sql`select device_key, status, progress, failure_reason, failure_detail, waiting_reason, attempt, current_version
        from job_tasks where job_id = ${jobId} order by device_key`,
  );
  return new Map(rows.map((r) => [r.device_key, r]));
}

export async function jobStatus(services: AppServices, jobId: string): Promise<{ status: string; status_reason: string | null }> {
  const [row] = await queryRows<{ status: string; status_reason: string | null }>(
    services.db,
    sql`select status, status_reason from ota_jobs where id = ${jobId}`,
  );
  return row;
}

export async function countByStatus(services: AppServices, jobId: string): Promise<Record<string, number>> {
  const rows = await queryRows<{ status: string; n: string | number }>(
    services.db,
    sql`select status, count(*) as n from job_tasks where job_id = ${jobId} group by status`,
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** Polls `check` until it returns a truthy value; fails with `describe()` after the deadline. */
export async function waitFor<T>(
  check: () => Promise<T> | T,
  options: { timeoutMs?: number; what: string; describe?: () => Promise<unknown> | unknown },
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) {
      const detail = options.describe ? JSON.stringify(await options.describe()) : '';
      throw new Error(`timed out waiting for ${options.what} ${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export const allFinal = (counts: Record<string, number>) =>
  (counts.TO_BE_PUSHED ?? 0) + (counts.PUSHED ?? 0) + (counts.IN_PROGRESS ?? 0) === 0 && (counts.SUCCEEDED ?? 0) + (counts.FAILED ?? 0) > 0;

/** A product key no other test run uses: topics on a shared broker must not collide. */
export function uniqueProductKey(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** The brokers a test runs against: the embedded one always, Mosquitto when the run provides it. */
export function brokerModes(): [name: string, overrides: () => Partial<ServerConfig>][] {
  const modes: [string, () => Partial<ServerConfig>][] = [['embedded broker', () => ({})]];
  if (externalMqttUrl) {
    modes.push(['Mosquitto (MQTT_URL)', () => ({ mqttUrl: externalMqttUrl, mqttShareGroup: `test-${randomBytes(4).toString('hex')}` })]);
  }
  return modes;
}

/** A server in a child process (tsx server/src/main.ts), as production runs it: it can be killed -9. */
export interface ServerProcess {
  url: string;
  /** Starts (or restarts) the process; resolves once /readyz answers 200, with how long that took. */
  start(): Promise<number>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** A counter from its /metrics. */
  counter(name: string): Promise<number>;
}

export function serverProcess(env: Record<string, string | undefined>, port: number): ServerProcess {
  const serverMain = fileURLToPath(new URL('../../server/src/main.ts', import.meta.url));
  // The loader in the server's own process (not the tsx CLI, which runs the server in a child that a
  // SIGKILL of the CLI would leave running).
  const tsxLoader = import.meta.resolve('tsx');
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  return {
    url,
    async start() {
      const started = Date.now();
      child = spawn(process.execPath, ['--import', tsxLoader, serverMain], {
        env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', SEED_DEMO: 'false', DEMO_FLEET: 'false', ...env },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      await waitFor(async () => (await fetch(`${url}/readyz`).catch(() => null))?.ok, { what: 'the server process to be ready', timeoutMs: 60_000 });
      return Date.now() - started;
    },
    async kill(signal = 'SIGKILL') {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill(signal);
      await exited;
    },
    async counter(name) {
      const text = await (await fetch(`${url}/metrics`)).text();
      return Number(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    },
  };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A database and data directory for a server process, with an in-process instance without engine or
 * gateway to set up data and read it back (its services). PostgreSQL only: PGlite is one process's.
 */
export async function processWorkspace(): Promise<{ services: AppServices; databaseUrl: string; dataDir: string; close(): Promise<void> }> {
  const database = await createTestDatabase();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'updraft-process-'));
  const admin = await startServer(
    loadConfig(
      {},
      { dataDir, firmwareDir: path.join(dataDir, 'firmware'), host: '127.0.0.1', port: 0, seedDemo: false, engineEnabled: false, webhooksEnabled: false },
    ),
    database.handle,
  );
  return {
    services: admin.services,
    databaseUrl: database.url!,
    dataDir,
    async close() {
      await admin.close();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
