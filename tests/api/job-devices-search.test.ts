import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { createUpgradeJob, seedProduct, setTaskStates, uploadFirmware, type TaskState } from '../support/fixtures.js';

let t: TestServer;
let jobId: string;
const T0 = Date.parse('2026-06-01T12:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

/**
 * 40 devices `dev-0001`… (plus `other-01`…`other-05`):
 * 1-10 To be Pushed, 11-15 Pushed, 16-20 In Progress, 21-25 Succeeded,
 * 26-40 Failed: reason cycles DOWNLOAD_FAILED / TIMEOUT / WRITE_FAILED, failedAt = T0 + (n - 26) minutes,
 * current version 1.0 for n < 34, 1.1 from 34.
 */
beforeAll(async () => {
  // The engine stays off: these tests are about the API's rules, and pin task states themselves.
  t = await startTestServer({ engineEnabled: false });
  await seedProduct(t, 'meter', 40, (i) => ({ firmwareVersion: i < 33 ? '1.0' : '1.1' }));
  await t.gql(
    `mutation { registerDevices(input: { productKey: "meter", devices: [${[1, 2, 3, 4, 5].map((i) => `{ deviceKey: "other-0${i}", firmwareVersion: "1.0" }`).join(',')}] }) { __typename } }`,
  );
  const firmwareId = (await uploadFirmware(t, { productKey: 'meter', name: 'Two', version: '2.0' })).id;
  jobId = await createUpgradeJob(t, { firmwareId, scope: { allDevices: true } });
  const states: Record<string, TaskState> = {};
  const reasons = ['DOWNLOAD_FAILED', 'TIMEOUT', 'WRITE_FAILED'];
  for (let n = 11; n <= 40; n++) {
    const key = `dev-${String(n).padStart(4, '0')}`;
    if (n <= 15) states[key] = { status: 'PUSHED' };
    else if (n <= 20) states[key] = { status: 'IN_PROGRESS' };
    else if (n <= 25) states[key] = { status: 'SUCCEEDED' };
    else states[key] = { status: 'FAILED', reason: reasons[(n - 26) % 3], failedAt: at(n - 26), currentVersion: n < 34 ? '1.0' : '1.1' };
  }
  await setTaskStates(t, jobId, states);
});
afterAll(() => t?.close());

const DEVICES = `query($id: ID!, $status: UpgradeStatus, $deviceKey: String, $match: DeviceKeyMatch, $version: String,
  $reason: FailureReason, $after: DateTime, $before: DateTime, $first: Int, $cursor: String, $last: Int, $beforeCursor: String) {
  job(id: $id) { statusCounts { toBePushed pushed inProgress succeeded failed }
    devices(status: $status, deviceKey: $deviceKey, deviceKeyMatch: $match, currentVersion: $version, failureReason: $reason,
            failedAfter: $after, failedBefore: $before, first: $first, after: $cursor, last: $last, before: $beforeCursor) {
      totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { deviceKey status failureReason failedAt currentVersion } } } }`;

async function search(variables: Record<string, unknown>) {
  const result = await t.gql(DEVICES, { id: jobId, ...variables });
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return result.data.job.devices as { totalCount: number; pageInfo: any; nodes: any[] };
}
const keysOf = (page: { nodes: { deviceKey: string }[] }) => page.nodes.map((n) => n.deviceKey);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `dev-${String(from + i).padStart(4, '0')}`);

describe('job devices: tabs', () => {
  it('counts every tab, and each tab lists exactly its devices in device-key order', async () => {
    const { data } = await t.gql(DEVICES, { id: jobId });
    expect(data.job.statusCounts).toEqual({ toBePushed: 15, pushed: 5, inProgress: 5, succeeded: 5, failed: 15 });
    expect(keysOf(await search({ status: 'PUSHED' }))).toEqual(range(11, 15));
    expect(keysOf(await search({ status: 'IN_PROGRESS' }))).toEqual(range(16, 20));
    const toBePushed = await search({ status: 'TO_BE_PUSHED' });
    expect(toBePushed.totalCount).toBe(15);
    expect(keysOf(toBePushed)).toEqual([...range(1, 10), 'other-01', 'other-02', 'other-03', 'other-04', 'other-05']);
  });

  it('pages forward and backward through a tab with stable totalCount, visiting each device once', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await search({ status: 'FAILED', first: 4, cursor });
      expect(page.totalCount).toBe(15);
      seen.push(...keysOf(page));
      if (!page.pageInfo.hasNextPage) break;
      cursor = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(range(26, 40));
    const last = await search({ status: 'FAILED', last: 3 });
    expect(keysOf(last)).toEqual(range(38, 40));
    expect(last.pageInfo.hasPreviousPage).toBe(true);
    const previous = await search({ status: 'FAILED', last: 3, beforeCursor: last.pageInfo.startCursor });
    expect(keysOf(previous)).toEqual(range(35, 37));
  });
});

describe('job devices: device key search in every tab', () => {
  it.each([
    [
      'CONTAINS (default)',
      undefined,
      '003',
      ['dev-0003', 'dev-0030', 'dev-0031', 'dev-0032', 'dev-0033', 'dev-0034', 'dev-0035', 'dev-0036', 'dev-0037', 'dev-0038', 'dev-0039'],
    ],
    ['PREFIX', 'PREFIX', 'other', ['other-01', 'other-02', 'other-03', 'other-04', 'other-05']],
    ['EXACT', 'EXACT', 'dev-0012', ['dev-0012']],
  ])('%s', async (_label, match, text, expected) => {
    const all = await search({ deviceKey: text, match, first: 100 });
    expect(keysOf(all)).toEqual(expected);
    expect(all.totalCount).toBe(expected.length);
  });

  it('combines with the tab, and treats LIKE wildcards literally', async () => {
    expect(keysOf(await search({ status: 'TO_BE_PUSHED', deviceKey: '003' }))).toEqual(['dev-0003']);
    expect((await search({ deviceKey: '%' })).totalCount).toBe(0);
    expect((await search({ deviceKey: 'dev_00', match: 'PREFIX' })).totalCount).toBe(0);
  });
});

describe('job devices: Upgrade Failed searches', () => {
  it('by failure reason, with count', async () => {
    const timeouts = await search({ status: 'FAILED', reason: 'TIMEOUT' });
    expect(keysOf(timeouts)).toEqual(['dev-0027', 'dev-0030', 'dev-0033', 'dev-0036', 'dev-0039']);
    expect(timeouts.totalCount).toBe(5);
    // A failure filter alone means the Upgrade Failed tab.
    expect((await search({ reason: 'WRITE_FAILED' })).totalCount).toBe(5);
  });

  it('by current version', async () => {
    const page = await search({ status: 'FAILED', version: '1.1' });
    expect(keysOf(page)).toEqual(range(34, 40));
    expect(page.nodes.every((n) => n.currentVersion === '1.1')).toBe(true);
  });

  it('by time range: failedAfter inclusive, failedBefore exclusive', async () => {
    const exact = await search({ status: 'FAILED', after: at(2).toISOString(), before: at(5).toISOString() });
    expect(keysOf(exact)).toEqual(['dev-0028', 'dev-0029', 'dev-0030']);
    expect(keysOf(await search({ status: 'FAILED', after: at(14).toISOString() }))).toEqual(['dev-0040']);
    expect(keysOf(await search({ status: 'FAILED', before: at(1).toISOString() }))).toEqual(['dev-0026']);
    // Adjacent ranges do not overlap and together cover everything.
    const a = await search({ status: 'FAILED', before: at(7).toISOString(), first: 100 });
    const b = await search({ status: 'FAILED', after: at(7).toISOString(), first: 100 });
    expect(a.totalCount + b.totalCount).toBe(15);
    expect(new Set([...keysOf(a), ...keysOf(b)]).size).toBe(15);
  });

  it('all filters together, paginated', async () => {
    const page = await search({
      reason: 'DOWNLOAD_FAILED',
      version: '1.0',
      after: at(0).toISOString(),
      before: at(10).toISOString(),
      deviceKey: 'dev-00',
      match: 'PREFIX',
      first: 2,
    });
    expect(page.totalCount).toBe(3);
    expect(keysOf(page)).toEqual(['dev-0026', 'dev-0029']);
    expect(page.pageInfo.hasNextPage).toBe(true);
    const next = await search({
      reason: 'DOWNLOAD_FAILED',
      version: '1.0',
      after: at(0).toISOString(),
      before: at(10).toISOString(),
      deviceKey: 'dev-00',
      match: 'PREFIX',
      first: 2,
      cursor: page.pageInfo.endCursor,
    });
    expect(keysOf(next)).toEqual(['dev-0032']);
  });

  it('refuses failure filters on another tab and an empty time range, with BAD_USER_INPUT', async () => {
    for (const variables of [
      { status: 'PUSHED', reason: 'TIMEOUT' },
      { after: at(5).toISOString(), before: at(5).toISOString() },
    ]) {
      const result = await t.gql(DEVICES, { id: jobId, ...variables });
      expect(result.errors?.[0].extensions?.code, JSON.stringify(variables)).toBe('BAD_USER_INPUT');
    }
  });
});
