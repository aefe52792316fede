import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from '@updraft/server/simulator/index.js';
import type { TestServer } from '../support/server.js';
import { allFinal, brokerModes, countByStatus, mqttUrlOf, setUpFleet, startEngineServer, tasksOf, uniqueProductKey, upgradeJob, waitFor } from './support.js';

describe.each(brokerModes())('a rollout through the %s', (_name, overrides) => {
  let ts: TestServer;
  let fleet: Fleet | undefined;
  beforeAll(async () => {
    ts = await startEngineServer({ ...overrides(), ...(process.env.SMOKE_INSTANCE ? { instanceId: process.env.SMOKE_INSTANCE } : {}) });
  });
  afterAll(async () => {
    await fleet?.stop();
    await ts?.close();
  });

  it('pushes every online device and turns the new version into success', { timeout: 180_000 }, async () => {
    const services = ts.server.services;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('smoke'), count: 20 });
    fleet = await startFleet({ devices: setup.devices, mqttUrl: mqttUrlOf(ts), upgradeSeconds: 0.5, rebootSeconds: 0.1, progressReports: 4 });
    const job = await upgradeJob(services, setup, { scope: { allDevices: true }, maxConcurrency: 5 });
    await waitFor(async () => allFinal(await countByStatus(services, job.id)), { what: 'all tasks final', describe: () => countByStatus(services, job.id) });
    const tasks = [...(await tasksOf(services, job.id)).values()];
    expect(tasks.filter((t) => t.status === 'SUCCEEDED' && t.progress === 100 && t.current_version === '2.0.0')).toHaveLength(20);
    expect(fleet.devices.every((d) => d.version === '2.0.0')).toBe(true);
  });
});
