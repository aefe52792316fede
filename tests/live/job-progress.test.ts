/**
 * jobProgress and jobsUpdated over graphql-ws and Server-Sent Events, with a real rollout (engine,
 * MQTT, simulated devices) producing the changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { startFleet, type Fleet } from '@updraft/server/simulator/index.js';
import type { TestServer } from '../support/server.js';
import { subscribe } from '../support/subscriptions.js';
import { sseSubscribe } from '../support/sse.js';
import { allFinal, countByStatus, mqttUrlOf, setUpFleet, startEngineServer, uniqueProductKey, upgradeJob, waitFor, type TestFleet } from '../engine/support.js';

const PROGRESS = `subscription($id: ID!) { jobProgress(jobId: $id) {
  status progress deviceCount statusCounts { toBePushed pushed inProgress succeeded failed } failureReasonCounts { reason count } } }`;
const JOB = `query($id: ID!) { job(id: $id) {
  status progress deviceCount statusCounts { toBePushed pushed inProgress succeeded failed } failureReasonCounts { reason count } } }`;

let ts: TestServer;
let setup: TestFleet;
let fleet: Fleet | undefined;

beforeAll(async () => {
  ts = await startEngineServer({ jobProgressIntervalMs: 200 });
  setup = await setUpFleet(ts.server.services, { productKey: uniqueProductKey('live'), count: 40 });
  fleet = await startFleet({
    devices: setup.devices,
    mqttUrl: mqttUrlOf(ts),
    upgradeSeconds: 1,
    rebootSeconds: 0.1,
    progressReports: 5,
    behaviour: 'downloadFail=0.1,writeFail=0.1',
    seed: 7,
  });
});
afterAll(async () => {
  await fleet?.stop();
  await ts?.close();
});

const finalOf = (counts: { succeeded: number; failed: number }) => counts.succeeded + counts.failed;

describe('jobProgress', () => {
  it('sends the current state first, then coalesced changes, ending equal to a fresh job query', async () => {
    const { services } = ts.server;
    const job = await upgradeJob(services, setup, { scope: { allDevices: true }, maxConcurrency: 10 });
    const id = encodeGlobalID('OtaJob', job.id);
    const ws = subscribe({ url: ts.server.wsUrl, query: PROGRESS, variables: { id }, connectionParams: ts.connectionParams() });
    const sse = await sseSubscribe(ts.server.graphqlUrl, PROGRESS, { id }, ts.defaultHeaders());

    const first = (await ws.next()) as { kind: string; data: any };
    expect(first.kind).toBe('next');
    expect(first.data.jobProgress.deviceCount).toBe(40);
    const firstSse = await sse.next();
    expect(firstSse.data.jobProgress.deviceCount).toBe(40);

    const seen = [first.data.jobProgress];
    while (seen[seen.length - 1].status !== 'FINISHED') {
      const event = (await ws.next(60_000)) as { kind: string; data: any };
      expect(event.kind).toBe('next');
      seen.push(event.data.jobProgress);
    }
    // Final devices never go back, and each event's counts add up to the job's devices.
    for (let i = 1; i < seen.length; i++) expect(finalOf(seen[i].statusCounts)).toBeGreaterThanOrEqual(finalOf(seen[i - 1].statusCounts));
    for (const state of seen) expect(Object.values(state.statusCounts as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(40);
    // Coalesced: 40 devices × (push, accept, 5 progress reports, result) changes, far fewer events.
    expect(seen.length).toBeLessThan(40 * 4);

    const fresh = (await ts.gql(JOB, { id })).data.job;
    expect(seen[seen.length - 1]).toEqual(fresh);
    expect(fresh.statusCounts.failed).toBeGreaterThan(0);

    // The SSE client ends on the same state.
    let lastSse = firstSse.data.jobProgress;
    while (lastSse.status !== 'FINISHED') lastSse = (await sse.next(60_000)).data.jobProgress;
    expect(lastSse).toEqual(fresh);
    sse.close();
    await ws.dispose();
  });

  it('refuses another unit’s job and a caller without OTA_READ', async () => {
    const job = await upgradeJob(ts.server.services, setup, { scope: { deviceKeys: [setup.devices[0].deviceKey] } });
    const id = encodeGlobalID('OtaJob', job.id);
    const outsider = await ts.createUser({ permissions: ['OTA_READ'], ouName: 'Elsewhere' });
    const foreign = subscribe({ url: ts.server.wsUrl, query: PROGRESS, variables: { id }, connectionParams: ts.connectionParams(outsider.token) });
    // graphql-ws delivers a refused subscription as one result with errors (and no data), then complete.
    const refusal = (await foreign.next()) as { errors?: { extensions?: Record<string, unknown> }[]; data?: unknown };
    expect(refusal.data ?? null).toBeNull();
    expect(refusal.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    await foreign.dispose();

    const reader = await ts.createUser({ permissions: ['DEVICE_READ'] });
    const forbidden = subscribe({ url: ts.server.wsUrl, query: PROGRESS, variables: { id }, connectionParams: ts.connectionParams(reader.token) });
    const denied = (await forbidden.next()) as { errors?: { extensions?: Record<string, unknown> }[]; data?: unknown };
    expect(denied.data ?? null).toBeNull();
    expect(denied.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', permission: 'OTA_READ' });
    await forbidden.dispose();

    const sse = await sseSubscribe(ts.server.graphqlUrl, PROGRESS, { id }, reader.headers);
    expect((await sse.next()).errors?.[0].extensions.code).toBe('FORBIDDEN');
    sse.close();
  });
});

describe('jobsUpdated', () => {
  it('tells a jobs list about a new job and its progress, filtered by product', async () => {
    const { services } = ts.server;
    const LIST = `subscription($p: String) { jobsUpdated(productKey: $p) { id name status progress } }`;
    const mine = subscribe({ url: ts.server.wsUrl, query: LIST, variables: { p: setup.productKey }, connectionParams: ts.connectionParams() });
    const other = subscribe({ url: ts.server.wsUrl, query: LIST, variables: { p: 'no-such-product' }, connectionParams: ts.connectionParams() });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const job = await upgradeJob(services, setup, { name: 'listed', scope: { deviceKeys: setup.devices.slice(0, 3).map((d) => d.deviceKey) } });
    const id = encodeGlobalID('OtaJob', job.id);
    // Other jobs of the product (earlier tests') may still be moving: follow this one.
    let latest = (await mine.next()) as { kind: string; data: any };
    while (latest.data.jobsUpdated.id !== id) latest = (await mine.next(60_000)) as typeof latest;
    expect(latest.data.jobsUpdated).toMatchObject({ id, name: 'listed' });
    while (latest.data.jobsUpdated.id !== id || latest.data.jobsUpdated.status !== 'FINISHED') latest = (await mine.next(60_000)) as typeof latest;
    expect(latest.data.jobsUpdated.progress).toBe(100);
    await waitFor(async () => allFinal(await countByStatus(services, job.id)), { what: 'job final' });
    const unknownProduct = (await other.next()) as { errors?: { extensions?: Record<string, unknown> }[] };
    expect(unknownProduct.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    await mine.dispose();
    await other.dispose();
  });
});
