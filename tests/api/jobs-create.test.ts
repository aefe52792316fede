import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { createUpgradeJob, createVerificationJob, jobTasksByKey, seedProduct, uploadFirmware } from '../support/fixtures.js';

let t: TestServer;
let firmwareId: string;
let gatedFirmwareId: string;

const CREATE_UPGRADE = `mutation($input: CreateUpgradeJobInput!) { createUpgradeJob(input: $input) {
  __typename ... on MutationCreateUpgradeJobSuccess { data { id status } }
  ... on InvalidInputError { issues { path message } } ... on Error { message code } } }`;
const CREATE_VERIFICATION = `mutation($input: CreateVerificationJobInput!) { createVerificationJob(input: $input) {
  __typename ... on MutationCreateVerificationJobSuccess { data { id } }
  ... on InvalidInputError { issues { path message } } ... on Error { message code } } }`;

async function jobCount(): Promise<number> {
  return (await t.gql(`{ jobs { totalCount } }`)).data.jobs.totalCount;
}

beforeAll(async () => {
  // The engine stays off: these tests are about the API's rules, and pin task states themselves.
  t = await startTestServer({ engineEnabled: false });
  // 12 devices: versions 1.0 (0-5), 1.1 (6-9), 2.0 (10-11: already on the target); regions alternate.
  await seedProduct(t, 'meter', 12, (i) => ({
    firmwareVersion: i < 6 ? '1.0' : i < 10 ? '1.1' : '2.0',
    tags: [
      { key: 'region', value: i % 2 === 0 ? 'eu' : 'us' },
      { key: 'batch', value: i % 3 === 0 ? 'A' : 'B' },
    ],
  }));
  firmwareId = (await uploadFirmware(t, { productKey: 'meter', name: 'Two', version: '2.0' })).id;
  gatedFirmwareId = (await uploadFirmware(t, { productKey: 'meter', name: 'Gated', version: '3.0', requireVerification: true })).id;
});
afterAll(() => t?.close());

const keys = (n: number[]) => n.map((i) => `dev-${String(i + 1).padStart(4, '0')}`);

describe('createUpgradeJob scopes', () => {
  it('all devices: every device of the product not already on the target version', async () => {
    const id = await createUpgradeJob(t, { firmwareId, scope: { allDevices: true } });
    const tasks = await jobTasksByKey(t, id);
    expect(Object.keys(tasks).sort()).toEqual(keys([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    expect(Object.values(tasks).every((task) => task.status === 'TO_BE_PUSHED')).toBe(true);
  });

  it('all devices on given source versions', async () => {
    const id = await createUpgradeJob(t, { firmwareId, scope: { allDevices: true, srcVersions: ['1.1'] } });
    expect(Object.keys(await jobTasksByKey(t, id)).sort()).toEqual(keys([6, 7, 8, 9]));
  });

  it('all devices with tags: all keys must match, any listed value of one key does', async () => {
    const eu = await createUpgradeJob(t, { firmwareId, scope: { allDevices: true, tags: [{ key: 'region', value: 'eu' }] } });
    expect(Object.keys(await jobTasksByKey(t, eu)).sort()).toEqual(keys([0, 2, 4, 6, 8]));
    const euAndA = await createUpgradeJob(t, {
      firmwareId,
      scope: {
        allDevices: true,
        tags: [
          { key: 'region', value: 'eu' },
          { key: 'batch', value: 'A' },
        ],
      },
    });
    expect(Object.keys(await jobTasksByKey(t, euAndA)).sort()).toEqual(keys([0, 6]));
    const euOrUs = await createUpgradeJob(t, {
      firmwareId,
      scope: {
        allDevices: true,
        srcVersions: ['1.0'],
        tags: [
          { key: 'region', value: 'eu' },
          { key: 'region', value: 'us' },
        ],
      },
    });
    expect(Object.keys(await jobTasksByKey(t, euOrUs)).sort()).toEqual(keys([0, 1, 2, 3, 4, 5]));
  });

  it('device keys: every listed key is a task; unknown keys fail at once as DEVICE_NOT_FOUND', async () => {
    const id = await createUpgradeJob(t, { firmwareId, scope: { deviceKeys: [...keys([0, 7]), 'ghost-1'], srcVersions: ['1.0'] } });
    const tasks = await jobTasksByKey(t, id);
    expect(tasks['dev-0001']).toMatchObject({ status: 'TO_BE_PUSHED', failureReason: null });
    // Named but on another version: still a task, so the operator sees its outcome (VERSION_NOT_IN_SCOPE at push).
    expect(tasks['dev-0008']).toMatchObject({ status: 'TO_BE_PUSHED', currentVersion: '1.1' });
    expect(tasks['ghost-1']).toMatchObject({ status: 'FAILED', failureReason: 'DEVICE_NOT_FOUND' });
  });

  it('refuses a scope that is neither all devices nor a key list, or tags with keys, creating nothing', async () => {
    const before = await jobCount();
    for (const scope of [{}, { allDevices: true, deviceKeys: ['dev-0001'] }, { deviceKeys: ['dev-0001'], tags: [{ key: 'region', value: 'eu' }] }]) {
      const result = await t.gql(CREATE_UPGRADE, { input: { firmwareId, name: 'Bad scope', scope } });
      expect(result.data.createUpgradeJob.__typename, JSON.stringify(scope)).toBe('InvalidInputError');
      expect(result.data.createUpgradeJob.issues[0].path).toContain('scope');
    }
    expect(await jobCount()).toBe(before);
  });

  it('refuses firmware that requires verification until it is verified', async () => {
    const before = await jobCount();
    const result = await t.gql(CREATE_UPGRADE, { input: { firmwareId: gatedFirmwareId, name: 'Too early', scope: { allDevices: true } } });
    expect(result.data.createUpgradeJob).toMatchObject({ __typename: 'FirmwareNotVerifiedError', code: 'FIRMWARE_NOT_VERIFIED' });
    expect(await jobCount()).toBe(before);
    // A verification job may use it.
    await createVerificationJob(t, { firmwareId: gatedFirmwareId, deviceKeys: keys([0]) });
  });

  it('a job starting later is SCHEDULED and its devices wait for the schedule', async () => {
    const startAt = new Date(Date.now() + 3600_000).toISOString();
    const result = await t.gql(CREATE_UPGRADE, {
      input: {
        firmwareId,
        name: 'Later',
        scope: { allDevices: true },
        schedule: { startAt, dailyWindowStart: '22:00', dailyWindowEnd: '04:00', timezone: 'Europe/Berlin' },
      },
    });
    const job = result.data.createUpgradeJob.data;
    expect(job.status).toBe('SCHEDULED');
    const tasks = await jobTasksByKey(t, job.id);
    expect(Object.values(tasks).every((task) => task.waitingReason === 'SCHEDULED')).toBe(true);
    const read = await t.gql(`query($id: ID!) { job(id: $id) { schedule { startAt dailyWindowStart dailyWindowEnd timezone } } }`, { id: job.id });
    expect(read.data.job.schedule).toEqual({ startAt, dailyWindowStart: '22:00', dailyWindowEnd: '04:00', timezone: 'Europe/Berlin' });
  });

  it('takes a daily window whose start equals its end as open all day (docs/engine.md)', async () => {
    const result = await t.gql(CREATE_UPGRADE, {
      input: { firmwareId, name: 'All day', scope: { allDevices: true }, schedule: { dailyWindowStart: '08:00', dailyWindowEnd: '08:00' } },
    });
    expect(result.data.createUpgradeJob.__typename).toBe('MutationCreateUpgradeJobSuccess');
    const job = result.data.createUpgradeJob.data;
    const read = await t.gql(`query($id: ID!) { job(id: $id) { schedule { dailyWindowStart dailyWindowEnd } } }`, { id: job.id });
    expect(read.data.job.schedule).toEqual({ dailyWindowStart: '08:00', dailyWindowEnd: '08:00' });
  });

  it('stores every setting and defaults', async () => {
    const id = await createUpgradeJob(t, {
      firmwareId,
      scope: { allDevices: true },
      policy: 'INCREMENTAL',
      maxConcurrency: 25,
      timeoutMinutes: 45,
      retry: { count: 3, intervalMinutes: 10 },
      pushRatePerMinute: 600,
      abortThreshold: { percent: 15 },
    });
    const job = (
      await t.gql(
        `query($id: ID!) { job(id: $id) { policy maxConcurrency timeoutMinutes retry { count intervalMinutes } pushRatePerMinute abortThreshold { percent minFinished } } }`,
        { id },
      )
    ).data.job;
    expect(job).toEqual({
      policy: 'INCREMENTAL',
      maxConcurrency: 25,
      timeoutMinutes: 45,
      retry: { count: 3, intervalMinutes: 10 },
      pushRatePerMinute: 600,
      abortThreshold: { percent: 15, minFinished: 10 },
    });
    const defaults = (
      await t.gql(`query($id: ID!) { job(id: $id) { policy maxConcurrency timeoutMinutes retry { count } } }`, {
        id: await createUpgradeJob(t, { firmwareId, scope: { allDevices: true } }),
      })
    ).data.job;
    expect(defaults).toEqual({ policy: 'SNAPSHOT', maxConcurrency: 300, timeoutMinutes: 120, retry: { count: 0 } });
  });

  it.each([
    ['timeout below 5 minutes', { timeoutMinutes: 4 }, 'timeoutMinutes'],
    ['timeout above 48 hours', { timeoutMinutes: 48 * 60 + 1 }, 'timeoutMinutes'],
    ['concurrency 0', { maxConcurrency: 0 }, 'maxConcurrency'],
    ['6 retries', { retry: { count: 6, intervalMinutes: 1 } }, 'retry'],
    ['half a daily window', { schedule: { dailyWindowStart: '01:00' } }, 'schedule'],
    ['a bad clock time', { schedule: { dailyWindowStart: '25:00', dailyWindowEnd: '02:00' } }, 'schedule'],
    ['an unknown time zone', { schedule: { timezone: 'Mars/Olympus' } }, 'schedule'],
    ['end before start', { schedule: { startAt: '2030-01-02T00:00:00Z', endAt: '2030-01-01T00:00:00Z' } }, 'schedule'],
    ['abort threshold 101%', { abortThreshold: { percent: 101 } }, 'abortThreshold'],
    ['push rate 0', { pushRatePerMinute: 0 }, 'pushRatePerMinute'],
    ['an empty name', { name: ' ' }, 'name'],
  ])('refuses %s with InvalidInputError naming the field, creating nothing', async (_label, settings, field) => {
    const before = await jobCount();
    const result = await t.gql(CREATE_UPGRADE, { input: { firmwareId, name: 'Bad', scope: { allDevices: true }, ...settings } });
    expect(result.data.createUpgradeJob.__typename).toBe('InvalidInputError');
    expect(result.data.createUpgradeJob.issues.map((i: { path: string[] }) => i.path[1])).toContain(field);
    expect(await jobCount()).toBe(before);
  });
});

describe('createVerificationJob', () => {
  it('targets 1 to 5 devices', async () => {
    for (const n of [1, 5]) {
      const id = await createVerificationJob(t, { firmwareId, deviceKeys: keys([...Array(n).keys()]) });
      expect(Object.keys(await jobTasksByKey(t, id))).toHaveLength(n);
    }
  });

  it('refuses 0 or 6 devices, or a repeated device, creating nothing', async () => {
    const before = await jobCount();
    for (const deviceKeys of [[], keys([0, 1, 2, 3, 4, 5]), keys([0, 0])]) {
      const result = await t.gql(CREATE_VERIFICATION, { input: { firmwareId, name: 'Bad', deviceKeys } });
      expect(result.data.createVerificationJob.__typename).toBe('InvalidInputError');
      expect(result.data.createVerificationJob.issues[0].path).toEqual(['input', 'deviceKeys']);
    }
    expect(await jobCount()).toBe(before);
  });

  it('refuses an unknown, malformed or wrongly typed firmware id with NotFoundError', async () => {
    const productId = (await t.gql(`{ products { id } }`)).data.products[0].id;
    for (const id of ['RmlybXdhcmU6MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw', 'not-an-id', productId]) {
      const result = await t.gql(CREATE_VERIFICATION, { input: { firmwareId: id, name: 'X', deviceKeys: keys([0]) } });
      expect(result.data.createVerificationJob.__typename, id).toBe('NotFoundError');
    }
  });
});
