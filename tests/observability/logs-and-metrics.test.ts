/**
 * The log and the metrics of a whole rollout: sign-ins with a password and with a token, devices
 * registered (their secrets), firmware downloaded with download tokens, a live subscription.
 *
 * - Every line is JSON; every HTTP request and WebSocket connection gets an id (echoed in
 *   X-Request-Id) that the lines it leads to carry, into the engine's pass and the job's status.
 * - No device report makes a line at info; no secret of the run appears anywhere in the log, at
 *   debug level (the most talkative).
 * - /metrics: process and event-loop metrics, the histograms of the issue with samples from this
 *   run, one label set per name, operation names bounded.
 */
import { writeFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { createLogger } from '@updraft/server/observability/logger.js';
import { startFleet, type Fleet } from '@updraft/server/simulator/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SIGN_IN, post, sessionOf } from '../auth/browser.js';
import { allFinal, countByStatus, FAST_ENGINE, mqttUrlOf, setUpFleet, type TestFleet, uniqueProductKey, waitFor } from '../engine/support.js';
import { bearer, startTestServer, type TestServer } from '../support/server.js';
import { subscribe, type Subscription } from '../support/subscriptions.js';

const PASSWORD = 'observability horse battery staple';
const lines: string[] = [];
const capture = new Writable({
  write(chunk, _encoding, done) {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    done();
  },
});
const parsed = () => lines.map((line) => JSON.parse(line) as Record<string, any>);

let ts: TestServer;
let fleet: Fleet | undefined;
let setup: TestFleet;
let updates: Subscription | undefined;
const secrets: Record<string, string> = {};
let jobId = '';

const CREATE_JOB = `mutation($input: CreateUpgradeJobInput!) { createUpgradeJob(input: $input) { __typename ... on MutationCreateUpgradeJobSuccess { data { id } } ... on Error { message } } }`;
const UPDATES = `subscription($id: ID!) { jobDeviceUpdates(jobId: $id) { cursor devices { deviceKey status } } }`;

beforeAll(async () => {
  ts = await startTestServer({ ...FAST_ENGINE, jobDeviceUpdatesIntervalMs: 50 }, { log: createLogger({ level: 'debug', destination: capture }) });
  secrets.adminToken = ts.adminToken;
  const user = await ts.createUser({ username: 'olivia', password: PASSWORD, permissions: ['OTA_READ', 'OTA_CREATE', 'FIRMWARE_READ'] });
  secrets.password = PASSWORD;
  secrets.userToken = user.token;

  // Sign-ins: a password, a token; a wrong password (refused).
  const byPassword = await post(ts.server.graphqlUrl, SIGN_IN, { input: { username: 'olivia', password: PASSWORD } });
  secrets.passwordSession = sessionOf(byPassword.setCookie)!;
  const byToken = await post(ts.server.graphqlUrl, SIGN_IN, { input: { token: user.token } });
  secrets.tokenSession = sessionOf(byToken.setCookie)!;
  await post(ts.server.graphqlUrl, SIGN_IN, { input: { username: 'olivia', password: `${PASSWORD}!` } });

  setup = await setUpFleet(ts.server.services, { productKey: uniqueProductKey('obs'), count: 12 });
  setup.devices.forEach((d, i) => {
    secrets[`device ${i}`] = d.secret;
  });
  // A download URL as pushes carry it, fetched as a device would (a request line is logged at debug).
  const fileUrl = ts.server.rollout.gateway!.commands.upgradeParams('00000000-0000-0000-0000-000000000000', {
    id: setup.firmware.id,
    version: '2.0.0',
    sign: 'x',
    signMethod: 'SHA256',
    size: 1,
  }).fileUrl;
  secrets.downloadToken = new URL(fileUrl).searchParams.get('token')!;
  expect((await fetch(fileUrl)).status).toBe(200);
}, 120_000);

afterAll(async () => {
  await updates?.dispose();
  await fleet?.stop();
  await ts?.close();
  // LOG_SAMPLE_FILE=… keeps the run's log (docs/observability.md shows a sample of it).
  if (process.env.LOG_SAMPLE_FILE) await writeFile(process.env.LOG_SAMPLE_FILE, `${lines.join('\n')}\n`);
});

describe('a rollout, logged and measured', () => {
  it('runs with request ids from the API into the engine and the job status lines', { timeout: 180_000 }, async () => {
    fleet = await startFleet({ devices: setup.devices, mqttUrl: mqttUrlOf(ts), upgradeSeconds: 0.3, rebootSeconds: 0.1, progressReports: 3 });
    await waitFor(async () => (await ts.server.services.metrics.value('updraft_devices_connected')) === setup.devices.length, {
      what: 'the fleet connected',
    });
    const response = await fetch(ts.server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'rollout-1', ...bearer(ts.adminToken) },
      body: JSON.stringify({
        query: CREATE_JOB,
        variables: { input: { name: 'observed', firmwareId: encodeGlobalID('Firmware', setup.firmware.id), scope: { allDevices: true }, maxConcurrency: 4 } },
      }),
    });
    expect(response.headers.get('x-request-id')).toBe('rollout-1');
    const answer = (await response.json()) as { data: { createUpgradeJob: { data: { id: string } } } };
    jobId = answer.data.createUpgradeJob.data.id;
    updates = subscribe({
      url: ts.server.wsUrl,
      query: UPDATES,
      variables: { id: jobId },
      connectionParams: ts.connectionParams(),
      headers: { 'x-request-id': 'live-1' },
    });
    const rawId = Buffer.from(jobId, 'base64').toString().split(':')[1];
    await waitFor(async () => allFinal(await countByStatus(ts.server.services, rawId)), { what: 'all tasks final' });
    expect(await countByStatus(ts.server.services, rawId)).toMatchObject({ SUCCEEDED: setup.devices.length });
    await waitFor(async () => parsed().some((l) => l.msg === 'job finished'), { what: 'the job finished line' });

    const log = parsed();
    const created = log.find((l) => l.msg === 'job created');
    expect(created).toMatchObject({ reqId: 'rollout-1', component: 'jobs', change: 'created', level: 30 });
    // The engine pass the request's kick led to names it.
    expect(log.some((l) => l.component === 'engine' && Array.isArray(l.causedBy) && l.causedBy.includes('rollout-1'))).toBe(true);
    // A request without an id gets one; ids are unique.
    const plain = await fetch(`${ts.server.url}/healthz`);
    expect(plain.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // The WebSocket upgrade echoes the connection's id.
    const echoed = await new Promise<string | undefined>((resolve, reject) => {
      const socket = new WebSocket(ts.server.wsUrl, 'graphql-transport-ws', { headers: { 'x-request-id': 'ws-echo' } });
      socket.once('upgrade', (res) => resolve(res.headers['x-request-id'] as string | undefined));
      socket.once('error', reject);
      socket.once('open', () => socket.close());
    });
    expect(echoed).toBe('ws-echo');
  });

  it('writes JSON lines, one per notable event, none per device report at info, and no secret', async () => {
    expect(lines.length).toBeGreaterThan(10);
    const log = parsed();
    for (const line of log) expect(line).toMatchObject({ level: expect.any(Number), time: expect.any(Number), msg: expect.any(String) });
    // Reports (inform + progress per device and attempt) were many; none made a line at info or above.
    const reports = await ts.server.services.metrics.value('updraft_reports_written_total');
    expect(reports).toBeGreaterThanOrEqual(setup.devices.length * 3);
    const deviceKeys = new Set(setup.devices.map((d) => d.deviceKey));
    const infoAboutDevices = log.filter((l) => l.level >= 30 && [...deviceKeys].some((k) => JSON.stringify(l).includes(k)));
    expect(infoAboutDevices).toEqual([]);
    // Sign-ins: each one line, the refused one too.
    expect(log.filter((l) => l.msg === 'signed in')).toHaveLength(2);
    expect(log.filter((l) => l.msg === 'sign-in refused')).toHaveLength(1);

    const text = lines.join('\n');
    for (const [what, secret] of Object.entries(secrets)) {
      expect(secret, what).toBeTruthy();
      expect(text.includes(secret), `${what} in the log`).toBe(false);
      expect(text.includes(encodeURIComponent(secret)), `${what} (URL-encoded) in the log`).toBe(false);
    }
  });

  it('serves the metrics of the issue, with samples from the run and one label set per name', async () => {
    // Many operation names: the label set stays bounded.
    for (let i = 0; i < 120; i++) await ts.gql(`query Probe${i} { __typename }`);
    const text = await (await fetch(`${ts.server.url}/metrics`)).text();
    const sample = (name: string) => {
      const match = new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} ([0-9.e+-]+)$`, 'm').exec(text);
      return match ? Number(match[1]) : Number.NaN;
    };
    expect(sample('updraft_process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(text).toMatch(/^updraft_nodejs_eventloop_lag_p99_seconds /m);
    expect(sample('updraft_report_commit_latency_seconds_count')).toBeGreaterThan(0);
    expect(sample('updraft_push_to_first_progress_seconds_count')).toBeGreaterThanOrEqual(setup.devices.length);
    expect(sample('updraft_live_delivery_latency_seconds_count')).toBeGreaterThan(0);
    expect(sample('updraft_devices_connected')).toBe(setup.devices.length);
    expect(sample('updraft_live_subscribers{subscription="jobDeviceUpdates"}')).toBe(1);
    expect(sample('updraft_job_state_changes_total{change="created"}')).toBe(1);
    expect(sample('updraft_job_state_changes_total{change="finished"}')).toBe(1);
    expect(sample('updraft_device_messages_total{kind="progress"}')).toBeGreaterThan(0);
    expect(sample('updraft_device_pushes_sent_total')).toBeGreaterThanOrEqual(setup.devices.length);
    expect(sample('updraft_graphql_operation_duration_seconds_count{operation="Probe0",type="query"}')).toBe(1);
    expect(sample('updraft_graphql_operation_duration_seconds_count{operation="other",type="query"}')).toBeGreaterThan(0);

    // One label set per metric name (histogram buckets add `le`), no mixed series.
    const labelSets = new Map<string, Set<string>>();
    const operations = new Set<string>();
    for (const line of text.split('\n')) {
      const match = /^([a-z_]+?)(_bucket|_sum|_count)?(?:\{([^}]*)\})? [0-9.e+-]+$/.exec(line);
      if (!match) continue;
      const keys = [...(match[3] ?? '').matchAll(/(\w+)="/g)].map((m) => m[1]).filter((k) => k !== 'le');
      const family = match[1];
      if (!labelSets.has(family)) labelSets.set(family, new Set());
      labelSets.get(family)!.add(keys.sort().join(','));
      const operation = /operation="([^"]*)"/.exec(match[3] ?? '');
      if (family === 'updraft_graphql_operation_duration_seconds' && operation) operations.add(operation[1]);
    }
    for (const [family, sets] of labelSets) {
      expect(family.startsWith('updraft_'), family).toBe(true);
      expect([...sets], family).toHaveLength(1);
    }
    expect(operations.size).toBeLessThanOrEqual(102);
  });
});
