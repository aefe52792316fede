/**
 * The rollout rules of issue 3, each through real devices: offline devices, cancel of a pushed
 * device, retries, verification, INCREMENTAL jobs, the abort threshold, stop/start, and why
 * devices wait (concurrency, window, rate).
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import mqtt from 'mqtt';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadFirmware } from '@updraft/server/domain/firmware.js';
import { cancelUpgrade } from '@updraft/server/domain/jobs/cancel-upgrade.js';
import { startJob, stopJob } from '@updraft/server/domain/jobs/control.js';
import { createUpgradeJob } from '@updraft/server/domain/jobs/create.js';
import { queryRows } from '@updraft/server/db/sql.js';
import { inTransaction } from '@updraft/server/domain/transaction.js';
import { deviceMqttCredentials, encodeRequest, otaTopic } from '@updraft/server/devices/protocol.js';
import { startFleet, type Fleet, type FleetOptions } from '@updraft/server/simulator/index.js';
import type { TestServer } from '../support/server.js';
import {
  allFinal,
  countByStatus,
  jobStatus,
  mqttUrlOf,
  setUpFleet,
  startEngineServer,
  tasksOf,
  uniqueProductKey,
  upgradeJob,
  verificationJob,
  waitFor,
} from './support.js';

let ts: TestServer;
const fleets: Fleet[] = [];
const clients: mqtt.MqttClient[] = [];

beforeAll(async () => {
  ts = await startEngineServer();
});
afterAll(async () => {
  await Promise.all(fleets.map((f) => f.stop()));
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await ts?.close();
});

const quick: Omit<FleetOptions, 'devices' | 'mqttUrl'> = { upgradeSeconds: 0.6, rebootSeconds: 0.1, progressReports: 3 };
async function fleetOf(devices: FleetOptions['devices'], options: Partial<FleetOptions> = {}): Promise<Fleet> {
  const fleet = await startFleet({ devices, mqttUrl: mqttUrlOf(ts), ...quick, ...options });
  fleets.push(fleet);
  return fleet;
}

describe('the rollout engine', () => {
  it('keeps an offline device To be Pushed (OFFLINE) and pushes it when it connects', { timeout: 240_000 }, async () => {
    const services = ts.server.services;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('offline'), count: 3 });
    const late = setup.devices[2];
    await fleetOf(setup.devices.slice(0, 2));
    const job = await upgradeJob(services, setup, { scope: { allDevices: true } });
    await waitFor(async () => (await tasksOf(services, job.id)).get(late.deviceKey)?.waiting_reason === 'OFFLINE', { what: 'OFFLINE' });
    const early = await tasksOf(services, job.id);
    expect(early.get(late.deviceKey)?.status).toBe('TO_BE_PUSHED');
    await fleetOf([late]);
    await waitFor(async () => allFinal(await countByStatus(services, job.id)), { what: 'all final' });
    expect((await tasksOf(services, job.id)).get(late.deviceKey)?.status).toBe('SUCCEEDED');
  });

  it('sends the cancel command to a Pushed device whose upgrade is cancelled', { timeout: 240_000 }, async () => {
    const services = ts.server.services;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('cancel'), count: 1 });
    const [device] = setup.devices;
    // A device that takes pushes but never answers them: its task stays Pushed.
    const client = await mqtt.connectAsync(mqttUrlOf(ts), { ...deviceMqttCredentials(device.productKey, device.deviceKey, device.secret), protocolVersion: 4 });
    clients.push(client);
    const received: { topic: string; body: { params: { jobId: string } } }[] = [];
    client.on('message', (topic, payload) => received.push({ topic, body: JSON.parse(payload.toString()) }));
    await client.subscribeAsync([otaTopic(device.productKey, device.deviceKey, 'upgrade'), otaTopic(device.productKey, device.deviceKey, 'cancel')], {
      qos: 1,
    });
    await client.publishAsync(otaTopic(device.productKey, device.deviceKey, 'inform'), encodeRequest('inform', 'i1', { version: '1.0.0' }), { qos: 1 });
    const job = await upgradeJob(services, setup, { scope: { allDevices: true } });
    await waitFor(() => received.some((m) => m.topic.endsWith('/upgrade')), { what: 'the push' });
    expect((await tasksOf(services, job.id)).get(device.deviceKey)?.status).toBe('PUSHED');
    const result = await inTransaction(services, (scope) => cancelUpgrade(scope, setup.caller, { jobId: job.id, deviceKeys: [device.deviceKey] }));
    expect(result.cancelledTaskIds).toHaveLength(1);
    await waitFor(() => received.some((m) => m.topic.endsWith('/cancel')), { what: 'the cancel command' });
    expect(received.find((m) => m.topic.endsWith('/cancel'))?.body.params.jobId).toBe(job.id);
    expect((await tasksOf(services, job.id)).get(device.deviceKey)?.failure_reason).toBe('CANCELLED_BY_USER');
  });

  it('retries retryable failures after the interval until the count is spent', { timeout: 240_000 }, async () => {
    const services = ts.server.services;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('retry'), count: 2 });
    const [flaky, broken] = setup.devices;
    await fleetOf([{ ...flaky, behaviour: 'writeFail' }], { failAttempts: 1 });
    await fleetOf([{ ...broken, behaviour: 'downloadFail' }]);
    const job = await upgradeJob(services, setup, { scope: { allDevices: true }, retry: { count: 2, intervalMinutes: 1 } });
    await waitFor(async () => (await tasksOf(services, job.id)).get(flaky.deviceKey)?.waiting_reason === 'RETRY_INTERVAL', {
      what: 'the retry interval',
    });
    await waitFor(async () => allFinal(await countByStatus(services, job.id)), { what: 'all final', timeoutMs: 90_000 });
    const tasks = await tasksOf(services, job.id);
    expect(tasks.get(flaky.deviceKey)).toMatchObject({ status: 'SUCCEEDED', attempt: 2 });
    expect(tasks.get(broken.deviceKey)).toMatchObject({ status: 'FAILED', failure_reason: 'DOWNLOAD_FAILED', attempt: 3 });
  });

  it('verifies the firmware of a verification job whose devices all succeed', { timeout: 240_000 }, async () => {
    const services = ts.server.services;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('verify'), count: 2 });
    const firmware = await uploadFirmware(services, setup.caller, {
      productKey: setup.productKey,
      name: 'needs verification',
      version: '3.0.0',
      signMethod: 'MD5',
      description: '',
      requireVerification: true,
      file: { name: 'v3.bin', stream: Readable.from([randomBytes(2048)]) },
    });
    await fleetOf(setup.devices);
    const job = await verificationJob(
      services,
      setup,
      setup.devices.map((d) => d.deviceKey),
      firmware.id,
    );
    await waitFor(async () => (await jobStatus(services, job.id)).status === 'FINISHED', { what: 'FINISHED' });
    const [row] = await queryRows<{ verified: boolean }>(services.db, sql`select verified from firmwares where id = ${firmware.id}`);
    expect(row.verified).toBe(true);
    // Now an upgrade job may use it.
    await inTransaction(services, (scope) =>
      createUpgradeJob(scope, setup.caller, { name: 'after verification', firmwareId: firmware.id, scope: { allDevices: true } }),
    );
  });

  it('takes devices that come to match into an INCREMENTAL job', { timeout: 240_000 }, async () => {
    const services = ts.server.services;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('incr'), count: 2 });
    await fleetOf(setup.devices);
    const job = await upgradeJob(services, setup, { scope: { allDevices: true, srcVersions: ['1.0.0'] }, policy: 'INCREMENTAL' });
    await waitFor(async () => (await countByStatus(services, job.id)).SUCCEEDED === 2, { what: 'first devices' });
    const [late] = await setup.register([{ deviceKey: 'late-1', version: '1.0.0' }]);
    await fleetOf([late]);
    await waitFor(async () => (await tasksOf(services, job.id)).get('late-1')?.status === 'SUCCEEDED', { what: 'the late device' });
    // An INCREMENTAL job without an end keeps waiting for more.
    expect((await jobStatus(services, job.id)).status).toBe('RUNNING');
  });

  it('stops a job whose failures cross the abort threshold', { timeout: 240_000 }, async () => {
    const services = ts.server.services;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('abort'), count: 12 });
    await fleetOf(setup.devices.map((d) => ({ ...d, behaviour: 'writeFail' as const })));
    const job = await upgradeJob(services, setup, { scope: { allDevices: true }, maxConcurrency: 2, abortThreshold: { percent: 50, minFinished: 4 } });
    await waitFor(async () => (await jobStatus(services, job.id)).status === 'STOPPED', { what: 'STOPPED' });
    expect((await jobStatus(services, job.id)).status_reason).toMatch(/abort threshold of 50%/);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const counts = await countByStatus(services, job.id);
    // Nothing new after the stop: at most the two in flight at that moment ended since.
    expect(counts.TO_BE_PUSHED).toBeGreaterThanOrEqual(6);
    expect((counts.FAILED ?? 0) + (counts.PUSHED ?? 0) + (counts.IN_PROGRESS ?? 0)).toBeLessThanOrEqual(6);
  });

  it('pushes nothing new while a job is stopped, and carries on when it is started', { timeout: 240_000 }, async () => {
    const services = ts.server.services;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('stop'), count: 6 });
    await fleetOf(setup.devices, { upgradeSeconds: 1.5 });
    const job = await upgradeJob(services, setup, { scope: { allDevices: true }, maxConcurrency: 1 });
    await waitFor(async () => ((await countByStatus(services, job.id)).IN_PROGRESS ?? 0) > 0, { what: 'a device in progress' });
    await inTransaction(services, (scope) => stopJob(scope, setup.caller, job.id));
    const pushedWhenStopped = 6 - ((await countByStatus(services, job.id)).TO_BE_PUSHED ?? 0);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(6 - ((await countByStatus(services, job.id)).TO_BE_PUSHED ?? 0)).toBe(pushedWhenStopped);
    await inTransaction(services, (scope) => startJob(scope, setup.caller, job.id));
    await waitFor(async () => (await countByStatus(services, job.id)).SUCCEEDED === 6, { what: 'all succeeded' });
  });

  it('tells why devices wait: concurrency limit, outside the window, rate limit', { timeout: 240_000 }, async () => {
    const services = ts.server.services;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('wait'), count: 26 });
    await fleetOf(setup.devices.map((d) => ({ ...d, behaviour: 'hang' as const })));
    const keys = setup.devices.map((d) => d.deviceKey);
    const capped = await upgradeJob(services, setup, { name: 'capped', scope: { deviceKeys: keys.slice(0, 3) }, maxConcurrency: 1 });
    const now = new Date();
    const closedFrom = (now.getUTCHours() + 2) % 24;
    const windowed = await upgradeJob(services, setup, {
      name: 'windowed',
      scope: { deviceKeys: keys.slice(3, 6) },
      schedule: {
        dailyWindowStart: `${String(closedFrom).padStart(2, '0')}:00`,
        dailyWindowEnd: `${String((closedFrom + 1) % 24).padStart(2, '0')}:00`,
        timezone: 'UTC',
      },
    });
    // One push per (test) minute of one second: twenty devices keep the job rate-limited for a while.
    const rated = await upgradeJob(services, setup, { name: 'rated', scope: { deviceKeys: keys.slice(6, 26) }, pushRatePerMinute: 1 });
    const reasons = async (jobId: string) => [...(await tasksOf(services, jobId)).values()].map((t) => t.waiting_reason).filter(Boolean);
    await waitFor(async () => (await reasons(capped.id)).filter((r) => r === 'CONCURRENCY_LIMIT').length === 2, { what: 'CONCURRENCY_LIMIT' });
    await waitFor(async () => (await reasons(windowed.id)).filter((r) => r === 'OUTSIDE_WINDOW').length === 3, { what: 'OUTSIDE_WINDOW' });
    await waitFor(async () => (await reasons(rated.id)).includes('RATE_LIMIT'), { what: 'RATE_LIMIT' });
    expect((await countByStatus(services, windowed.id)).TO_BE_PUSHED).toBe(3);
  });
});
