/**
 * kill -9 of a server in the middle of a 2,000-device rollout, then a restart: every task ends in
 * exactly one final state that agrees with its device, and every report the server acknowledged
 * (a 200 reply) is in the database. The server runs as a child process (tsx server/src/main.ts)
 * against PostgreSQL and Mosquitto; a watcher on the broker records every request and reply.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '@updraft/server/app.js';
import { loadConfig } from '@updraft/server/config.js';
import { interpretProgressStep, parseOtaTopic } from '@updraft/server/devices/protocol.js';
import { startFleet, type Fleet } from '@updraft/server/simulator/index.js';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../support/database.js';
import { allFinal, countByStatus, externalMqttUrl, setUpFleet, tasksOf, uniqueProductKey, upgradeJob, waitFor } from './support.js';

const DEVICES = Number(process.env.CRASH_DEVICES ?? 2000);
const serverMain = fileURLToPath(new URL('../../server/src/main.ts', import.meta.url));
// The loader in the server's own process (not the tsx CLI, which runs the server in a child that a
// SIGKILL of the CLI would leave running).
const tsxLoader = import.meta.resolve('tsx');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Watched {
  kind: string;
  params?: { version?: string; step?: string };
  code?: number;
}

describe.runIf(usingPostgres && externalMqttUrl)('crash recovery', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => {});
  });

  it('kill -9 mid-rollout of 2,000 devices, restart: every task ends once, no acknowledged report is lost', { timeout: 420_000 }, async () => {
    const database: TestDatabase = await createTestDatabase();
    cleanup.push(() => database.drop());
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'updraft-crash-'));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    // An in-process instance without engine or gateway, to set up the data and read it back.
    const admin: RunningServer = await startServer(
      loadConfig({}, { dataDir, firmwareDir: path.join(dataDir, 'firmware'), host: '127.0.0.1', port: 0, seedDemo: false, engineEnabled: false }),
      database.handle,
    );
    cleanup.push(() => admin.close());
    const services = admin.services;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('crash'), count: DEVICES, firmwareBytes: 64 * 1024 });

    // The watcher sees what the devices send and what the server answers.
    const watched = new Map<string, Watched>(); // `${deviceKey}/${id}`
    const watcher = await mqtt.connectAsync(externalMqttUrl!, { clientId: `watch-${randomBytes(4).toString('hex')}`, protocolVersion: 5 });
    cleanup.push(() => watcher.endAsync(true));
    watcher.on('message', (topic, payload) => {
      const parsed = parseOtaTopic(topic);
      if (!parsed) return;
      try {
        const body = JSON.parse(payload.toString()) as { id: string; code?: number; params?: Watched['params'] };
        const key = `${parsed.deviceKey}/${body.id}`;
        const entry = watched.get(key) ?? { kind: parsed.kind };
        if (parsed.isReply) entry.code = body.code;
        else entry.params = body.params;
        watched.set(key, entry);
      } catch {}
    });
    await watcher.subscribeAsync(`/sys/${setup.productKey}/+/ota/device/#`, { qos: 1 });

    const port = await freePort();
    const env = {
      ...process.env,
      DATABASE_URL: database.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      MQTT_URL: externalMqttUrl,
      MQTT_SHARE_GROUP: uniqueProductKey('crash-group'),
      INSTANCE_ID: uniqueProductKey('crash-instance'),
      SEED_DEMO: 'false',
      DEMO_FLEET: 'false',
      ENGINE_SWEEP_MS: '200',
      ENGINE_MINUTE_MS: '6000',
      REPUSH_AFTER_MS: '5000',
    };
    let child: ChildProcess | null = null;
    const startChild = async () => {
      const started = Date.now();
      child = spawn(process.execPath, ['--import', tsxLoader, serverMain], { env, stdio: ['ignore', 'ignore', 'inherit'] });
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok, { what: 'the server to answer', timeoutMs: 60_000 });
      return Date.now() - started;
    };
    cleanup.push(async () => child?.kill('SIGKILL'));
    await startChild();

    const fleet: Fleet = await startFleet({
      devices: setup.devices,
      mqttUrl: externalMqttUrl!,
      behaviour: { writeFail: 0.03, downloadFail: 0.02, undefinedFail: 0.01, decline: 0.02 },
      upgradeSeconds: 3,
      rebootSeconds: 0.5,
      progressReports: 5,
      connectRate: 1000,
      resumeDelayMs: 2000,
      maxResumes: 6,
    });
    cleanup.push(() => fleet.stop());

    const rolloutStarted = Date.now();
    const job = await upgradeJob(services, setup, { scope: { allDevices: true }, maxConcurrency: 400, timeoutMinutes: 10 });
    await waitFor(async () => ((await countByStatus(services, job.id)).SUCCEEDED ?? 0) >= DEVICES * 0.3, { what: '30% done', timeoutMs: 180_000, describe: async () => [await countByStatus(services, job.id), fleet.stats] });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const beforeKillSeconds = (Date.now() - rolloutStarted) / 1000;
    const counter = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
    const pushedBeforeKill = counter('updraft_engine_pushes_total');
    const reportsBeforeKill = counter('updraft_reports_written_total');

    child!.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
    const killedAt = Date.now();
    const atKill = await countByStatus(services, job.id);
    const finalAtKill = (atKill.SUCCEEDED ?? 0) + (atKill.FAILED ?? 0);
    const readyMs = await startChild();
    await waitFor(async () => {
      const now = await countByStatus(services, job.id);
      return (now.SUCCEEDED ?? 0) + (now.FAILED ?? 0) > finalAtKill;
    }, { what: 'progress after the restart', timeoutMs: 120_000 });
    const progressingMs = Date.now() - killedAt;

    await waitFor(async () => allFinal(await countByStatus(services, job.id)), {
      what: 'every task final',
      timeoutMs: 300_000,
      describe: () => countByStatus(services, job.id),
    });
    const totalSeconds = (Date.now() - rolloutStarted) / 1000;
    const tasks = await tasksOf(services, job.id);
    expect(tasks.size).toBe(DEVICES);

    // Every task agrees with its device: upgraded devices succeeded, the others failed.
    const disagreements = setup.devices.filter((d) => {
      const upgraded = fleet.device(d.deviceKey)!.version === '2.0.0';
      return upgraded !== (tasks.get(d.deviceKey)!.status === 'SUCCEEDED');
    });
    expect(
      disagreements.slice(0, 5).map((d) => [d.deviceKey, tasks.get(d.deviceKey), fleet.device(d.deviceKey)?.version, [...watched].filter(([k]) => k.startsWith(d.deviceKey + '/'))]),
    ).toEqual([]);

    // Every acknowledged report is reflected in the database.
    let acknowledged = 0;
    const missing: string[] = [];
    for (const [key, entry] of watched) {
      if (entry.code !== 200 || !entry.params) continue;
      const task = tasks.get(key.split('/')[0])!;
      if (entry.kind === 'inform' && entry.params.version === '2.0.0') {
        acknowledged++;
        if (task.status !== 'SUCCEEDED') missing.push(`${key}: inform 2.0.0 acknowledged, task ${task.status}`);
      } else if (entry.kind === 'progress' && entry.params.step !== undefined) {
        acknowledged++;
        const outcome = interpretProgressStep(entry.params.step);
        if (outcome?.kind === 'failed' && !(task.status === 'FAILED' && task.failure_reason === outcome.reason)) {
          missing.push(`${key}: step ${entry.params.step} acknowledged, task ${task.status} ${task.failure_reason}`);
        }
        if (outcome?.kind === 'progress' && task.status !== 'SUCCEEDED' && task.status !== 'FAILED' && task.progress < outcome.percent) {
          missing.push(`${key}: ${outcome.percent}% acknowledged, task at ${task.progress}%`);
        }
      }
    }
    expect(missing).toEqual([]);
    expect(acknowledged).toBeGreaterThan(DEVICES * 5);

    console.log(
      `[measure] crash recovery (PostgreSQL, Mosquitto, ${DEVICES} devices, maxConcurrency 400): before the kill ` +
        `${Math.round((pushedBeforeKill / beforeKillSeconds) * 60)} devices pushed per minute, ` +
        `${Math.round(reportsBeforeKill / beforeKillSeconds)} reports written per second; ` +
        `kill -9 at ${finalAtKill} final tasks; restarted server answering after ${(readyMs / 1000).toFixed(1)} s, ` +
        `tasks finishing again ${(progressingMs / 1000).toFixed(1)} s after the kill; all ${DEVICES} final after ${totalSeconds.toFixed(0)} s; ` +
        `${acknowledged} acknowledged reports checked`,
    );
  });
});
