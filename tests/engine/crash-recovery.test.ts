/**
 * kill -9 of a server in the middle of a 2,000-device rollout, then a restart: every task ends in
 * exactly one final state that agrees with its device, and every report the server acknowledged
 * (a 200 reply) is in the database. The server runs as a child process (tsx server/src/main.ts)
 * against PostgreSQL and Mosquitto; a watcher on the broker records every request and reply.
 */
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { interpretProgressStep, parseOtaTopic } from '@updraft/server/devices/protocol.js';
import { startFleet, type Fleet } from '@updraft/server/simulator/index.js';
import { usingPostgres } from '../support/database.js';
import {
  allFinal,
  countByStatus,
  externalMqttUrl,
  freePort,
  processWorkspace,
  serverProcess,
  setUpFleet,
  tasksOf,
  uniqueProductKey,
  upgradeJob,
  waitFor,
} from './support.js';

const DEVICES = Number(process.env.CRASH_DEVICES ?? 2000);

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
    const workspace = await processWorkspace();
    cleanup.push(() => workspace.close());
    const { services, databaseUrl, dataDir } = workspace;
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
      DATABASE_URL: databaseUrl,
      DATA_DIR: dataDir,
      MQTT_URL: externalMqttUrl,
      MQTT_SHARE_GROUP: uniqueProductKey('crash-group'),
      INSTANCE_ID: uniqueProductKey('crash-instance'),
      ENGINE_SWEEP_MS: '200',
      ENGINE_MINUTE_MS: '6000',
      REPUSH_AFTER_MS: '5000',
    };
    const server = serverProcess(env, port);
    cleanup.push(() => server.kill());
    await server.start();

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
    await waitFor(async () => ((await countByStatus(services, job.id)).SUCCEEDED ?? 0) >= DEVICES * 0.3, {
      what: '30% done',
      timeoutMs: 180_000,
      describe: async () => [await countByStatus(services, job.id), fleet.stats],
    });
    const beforeKillSeconds = (Date.now() - rolloutStarted) / 1000;
    const pushedBeforeKill = await server.counter('updraft_engine_pushes_total');
    const reportsBeforeKill = await server.counter('updraft_reports_written_total');

    await server.kill('SIGKILL');
    const killedAt = Date.now();
    const atKill = await countByStatus(services, job.id);
    const finalAtKill = (atKill.SUCCEEDED ?? 0) + (atKill.FAILED ?? 0);
    const readyMs = await server.start();
    await waitFor(
      async () => {
        const now = await countByStatus(services, job.id);
        return (now.SUCCEEDED ?? 0) + (now.FAILED ?? 0) > finalAtKill;
      },
      { what: 'progress after the restart', timeoutMs: 120_000 },
    );
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
      disagreements
        .slice(0, 5)
        .map((d) => [d.deviceKey, tasks.get(d.deviceKey), fleet.device(d.deviceKey)?.version, [...watched].filter(([k]) => k.startsWith(`${d.deviceKey}/`))]),
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
