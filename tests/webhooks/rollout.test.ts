/**
 * Task and job events from a real rollout: simulated devices over MQTT upgrade (some fail to
 * download), and the receiver gets one task.succeeded or task.failed per device as the database
 * ends it (reason, detail, versions), job.progress snapshots that only move forward, and the job's
 * FINISHED after every task event of the job; a verification job verifies its firmware.
 */
import { startFleet, type Fleet } from '@updraft/server/simulator/index.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { encodeGlobalID } from '@pothos/plugin-relay';
import {
  allFinal,
  countByStatus,
  mqttUrlOf,
  setUpFleet,
  startEngineServer,
  tasksOf,
  uniqueProductKey,
  upgradeJob,
  verificationJob,
  waitFor,
} from '../engine/support.js';
import type { TestServer } from '../support/server.js';
import { eventually, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

let ts: TestServer;
let fleet: Fleet | undefined;
let verifiers: Fleet | undefined;
let receiver: WebhookReceiver;

beforeAll(async () => {
  ts = await startEngineServer({ webhookAllowedTargets: ['127.0.0.1'], webhookPollMs: 100, webhookProgressIntervalMs: 200 });
  receiver = await startWebhookReceiver();
  const created = await ts.gql(
    `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { ... on MutationCreateWebhookEndpointSuccess { data { secret } } } }`,
    {
      input: {
        name: 'rollout',
        url: receiver.url,
        eventTypes: ['job.created', 'job.status_changed', 'job.progress', 'task.succeeded', 'task.failed', 'firmware.verified'],
      },
    },
  );
  receiver.secrets.push(created.data.createWebhookEndpoint.data.secret);
});

afterAll(async () => {
  await fleet?.stop();
  await verifiers?.stop();
  await receiver?.close();
  await ts?.close();
});

it('sends one final task event per device, as the database ended it, and FINISHED after them', { timeout: 120_000 }, async () => {
  const services = ts.server.services;
  // Verification on devices that all succeed, then a rollout where a quarter fail to download.
  const verifying = await setUpFleet(services, { productKey: uniqueProductKey('verified'), count: 2 });
  verifiers = await startFleet({ devices: verifying.devices, mqttUrl: mqttUrlOf(ts), upgradeSeconds: 0.2, rebootSeconds: 0.1, progressReports: 2 });
  const verify = await verificationJob(
    services,
    verifying,
    verifying.devices.map((d) => d.deviceKey),
  );
  await waitFor(async () => allFinal(await countByStatus(services, verify.id)), { what: 'the verification job' });
  const setup = await setUpFleet(services, { productKey: uniqueProductKey('hooked'), count: 12 });
  fleet = await startFleet({
    devices: setup.devices,
    mqttUrl: mqttUrlOf(ts),
    behaviour: { downloadFail: 0.25 },
    upgradeSeconds: 0.3,
    rebootSeconds: 0.1,
    progressReports: 3,
  });
  const job = await upgradeJob(services, setup, { scope: { allDevices: true }, maxConcurrency: 4 });
  await waitFor(async () => allFinal(await countByStatus(services, job.id)), { what: 'all tasks final' });
  const jobGid = encodeGlobalID('OtaJob', job.id);
  const finished = await eventually(
    () => receiver.received.find((r) => r.payload.type === 'job.status_changed' && r.payload.data.job.id === jobGid && r.payload.data.change === 'FINISHED'),
    'FINISHED',
  );
  const ofJob = receiver.received.filter((r) => r.payload.data?.job?.id === jobGid);
  expect(ofJob.every((r) => r.verifiedWith.length === 1)).toBe(true);

  const tasks = await tasksOf(services, job.id);
  const taskEvents = ofJob.filter((r) => r.payload.type.startsWith('task.'));
  expect(taskEvents).toHaveLength(tasks.size);
  for (const [deviceKey, task] of tasks) {
    const event = taskEvents.find((r) => r.payload.data.jobDevice.deviceKey === deviceKey)!;
    expect(event, deviceKey).toBeDefined();
    if (task.status === 'SUCCEEDED') {
      expect(event.payload).toMatchObject({ type: 'task.succeeded', data: { version: '2.0.0' } });
    } else {
      expect(event.payload).toMatchObject({
        type: 'task.failed',
        data: { reason: task.failure_reason, detail: task.failure_detail, version: task.current_version, targetVersion: '2.0.0' },
      });
    }
    expect(event.payload.data.jobDevice.attempt).toBe(task.attempt);
  }
  expect(taskEvents.some((r) => r.payload.type === 'task.failed')).toBe(true);
  expect(taskEvents.some((r) => r.payload.type === 'task.succeeded')).toBe(true);

  // Delivered in order: FINISHED after every task event, progress only moving forward.
  const number = (id: string) => Number.parseInt(id.slice(4), 36);
  expect(Math.max(...taskEvents.map((r) => number(r.id)))).toBeLessThan(number(finished.id));
  const arrival = ofJob.map((r) => number(r.id));
  expect([...arrival].sort((a, b) => a - b)).toEqual(arrival);
  const progress = ofJob.filter((r) => r.payload.type === 'job.progress').map((r) => r.payload.data.progress as number);
  expect(progress.length).toBeGreaterThan(0);
  expect([...progress].sort((a, b) => a - b)).toEqual(progress);
  await eventually(
    () => receiver.received.filter((r) => r.payload.type === 'job.progress' && r.payload.data.job.id === jobGid).some((r) => r.payload.data.progress === 100),
    'the final progress',
  );

  const verified = receiver.received.filter((r) => r.payload.type === 'firmware.verified');
  expect(verified).toHaveLength(1);
  expect(verified[0].payload.data).toMatchObject({
    firmware: { id: encodeGlobalID('Firmware', verifying.firmware.id), version: '2.0.0' },
    job: { id: encodeGlobalID('OtaJob', verify.id) },
  });
});
