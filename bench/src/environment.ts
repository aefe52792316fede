/**
 * What a benchmark runs on: a database of its own (a fresh PostgreSQL database when DATABASE_URL is
 * set, dropped afterwards; otherwise in-memory PGlite), an Updraft server in this process on port 0
 * with the embedded MQTT broker (or MQTT_URL), and a description of the machine.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { startServer, type RunningServer } from '@updraft/server/app.js';
import { loadConfig, type ServerConfig } from '@updraft/server/config.js';
import { openDatabase, type DatabaseHandle } from '@updraft/server/db/client.js';

export interface BenchDatabase {
  handle: DatabaseHandle;
  kind: 'postgres' | 'pglite';
  /** URL of the bench's own PostgreSQL database (for baselines that open their own connections). */
  url: string | undefined;
  drop(): Promise<void>;
}

export async function createBenchDatabase(poolSize = 10): Promise<BenchDatabase> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const handle = await openDatabase({ pgliteDir: 'memory://' });
    return { handle, kind: 'pglite', url: undefined, drop: () => handle.close() };
  }
  const name = `updraft_bench_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const handle = await openDatabase({ databaseUrl: url.toString(), pgliteDir: 'unused', poolSize });
  return {
    handle,
    kind: 'postgres',
    url: url.toString(),
    async drop() {
      await handle.close().catch(() => {});
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}

export interface BenchServer {
  server: RunningServer;
  /** The bootstrap administrator's API token (every permission). */
  token: string;
  close(): Promise<void>;
}

/** An Updraft server in this process, as `pnpm start` runs it (engine and gateway as configured). */
export async function startUpdraft(database: BenchDatabase, overrides: Partial<ServerConfig> = {}): Promise<BenchServer> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'updraft-bench-'));
  const token = `updraft_bench_${randomBytes(24).toString('base64url')}`;
  const config = loadConfig(
    {},
    {
      dataDir,
      firmwareDir: path.join(dataDir, 'firmware'),
      host: '127.0.0.1',
      port: 0,
      seedDemo: false,
      demoFleet: false,
      mqttHost: '127.0.0.1',
      mqttPort: 0,
      mqttUrl: process.env.MQTT_URL || undefined,
      mqttShareGroup: `bench-${randomBytes(4).toString('hex')}`,
      redisUrl: undefined,
      adminToken: token,
      logLevel: 'warn',
      // The scenarios measure throughput, far above any client's allowance.
      apiRateLimitPerMinute: 0,
      apiAnonymousRateLimitPerMinute: 0,
      ...overrides,
    },
  );
  const server = await startServer(config, database.handle);
  return {
    server,
    token,
    async close() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  database: string;
  broker: string;
  loadAverageAtStart: number[];
}

export async function machineInfo(database: BenchDatabase): Promise<MachineInfo> {
  const [row] = await database.handle.rawQuery<{ version: string }>('select version() as version');
  const version = database.kind === 'pglite' ? `PGlite (in-memory): ${row.version.split(',')[0]}` : row.version.split(',')[0];
  return {
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    database: version,
    broker: process.env.MQTT_URL ? `external (${new URL(process.env.MQTT_URL).host})` : 'embedded (aedes)',
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** CPU time (user + system) of this process, in milliseconds. */
export function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a truthy value; throws after `timeoutMs`. */
export async function waitUntil<T>(check: () => Promise<T> | T, what: string, timeoutMs = 120_000, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
