/**
 * Two server instances on one PostgreSQL database and one Redis: reports ingested by instance A
 * (the only one running the engine and the device gateway) reach subscribers connected to
 * instance B, through the Redis event bus.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '@updraft/server/app.js';
import { loadConfig } from '@updraft/server/config.js';
import { openDatabase } from '@updraft/server/db/client.js';
import { startFleet } from '@updraft/server/simulator/index.js';
import { usingPostgres } from '../support/database.js';
import { subscribe } from '../support/subscriptions.js';
import { sseSubscribe } from '../support/sse.js';
import { bearer, type TestServer } from '../support/server.js';
import { externalMqttUrl, setUpFleet, startEngineServer, tasksOf, uniqueProductKey, upgradeJob } from '../engine/support.js';

const redisUrl = process.env.REDIS_TEST_URL;
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
});

describe.runIf(usingPostgres && externalMqttUrl && redisUrl)('two instances sharing PostgreSQL and Redis', () => {
  it('a subscriber on B follows a rollout whose reports A ingests', { timeout: 240_000 }, async () => {
    const group = uniqueProductKey('bus');
    const a: TestServer = await startEngineServer({ mqttUrl: externalMqttUrl, mqttShareGroup: group, redisUrl, jobProgressIntervalMs: 100 });
    cleanup.push(() => a.close());
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'updraft-b-'));
    const handle = await openDatabase({ databaseUrl: a.database.url, pgliteDir: 'unused' });
    const b: RunningServer = await startServer(
      loadConfig(
        {},
        {
          dataDir,
          firmwareDir: a.server.services.config.firmwareDir,
          host: '127.0.0.1',
          port: 0,
          seedDemo: false,
          adminToken: a.adminToken,
          engineEnabled: false,
          redisUrl,
          jobProgressIntervalMs: 100,
          jobDeviceUpdatesIntervalMs: 50,
        },
      ),
      handle,
    );
    cleanup.push(async () => {
      await b.close();
      await handle.close();
      await rm(dataDir, { recursive: true, force: true });
    });
    expect(b.services.events.kind).toBe('redis');
    expect(b.rollout.gateway).toBeFalsy();

    const setup = await setUpFleet(a.server.services, { productKey: uniqueProductKey('two'), count: 30 });
    const fleet = await startFleet({
      devices: setup.devices,
      mqttUrl: externalMqttUrl!,
      upgradeSeconds: 1,
      rebootSeconds: 0.1,
      progressReports: 4,
      behaviour: 'writeFail=0.1',
      seed: 3,
    });
    cleanup.push(() => fleet.stop());
    await fleet.whenConnected(60_000);

    const job = await upgradeJob(a.server.services, setup, { scope: { allDevices: true }, maxConcurrency: 10 });
    const id = encodeGlobalID('OtaJob', job.id);
    const progress = subscribe({
      url: b.wsUrl,
      query: `subscription($id: ID!) { jobProgress(jobId: $id) { status statusCounts { toBePushed pushed inProgress succeeded failed } } }`,
      variables: { id },
      connectionParams: { authorization: `Bearer ${a.adminToken}` },
    });
    const updates = await sseSubscribe(
      b.graphqlUrl,
      `subscription($id: ID!) { jobDeviceUpdates(jobId: $id) { cursor devices { deviceKey status failureReason } } }`,
      { id },
      bearer(a.adminToken),
    );
    cleanup.push(async () => {
      updates.close();
      await progress.dispose();
    });

    const view = new Map<string, string>();
    const following = (async () => {
      for (;;) {
        const event = await updates.next(120_000);
        for (const d of event.data.jobDeviceUpdates.devices) view.set(d.deviceKey, d.status);
        if (view.size === 30 && [...view.values()].every((s) => s === 'SUCCEEDED' || s === 'FAILED')) return;
      }
    })();
    let last: any;
    do {
      const event = (await progress.next(120_000)) as { kind: string; data: any };
      expect(event.kind).toBe('next');
      last = event.data.jobProgress;
    } while (last.status !== 'FINISHED');
    await following;

    const tasks = await tasksOf(a.server.services, job.id);
    expect(last.statusCounts.succeeded + last.statusCounts.failed).toBe(30);
    expect(last.statusCounts.failed).toBe([...tasks.values()].filter((t) => t.status === 'FAILED').length);
    expect(Object.fromEntries(view)).toEqual(Object.fromEntries([...tasks].map(([key, t]) => [key, t.status])));
    // Every report was written by A: B runs no gateway.
    const metrics = await (await fetch(`${a.server.url}/metrics`)).text();
    expect(metrics).toMatch(/updraft_reports_written_total [1-9]/);
  });
});
