import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceCancelEvent } from '@updraft/server/events/bus.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { createUpgradeJob, jobSnapshot, jobTasksByKey, seedProduct, setTaskStates, uploadFirmware } from '../support/fixtures.js';

let t: TestServer;
let firmwareId: string;
const keys = (n: number[]) => n.map((i) => `dev-${String(i + 1).padStart(4, '0')}`);

beforeAll(async () => {
  // The engine stays off: these tests are about the API's rules, and pin task states themselves.
  t = await startTestServer({ engineEnabled: false });
  await seedProduct(t, 'meter', 8);
  firmwareId = (await uploadFirmware(t, { productKey: 'meter', name: 'Two', version: '2.0' })).id;
});
afterAll(() => t?.close());

const CANCEL = `mutation($input: CancelUpgradeInput!) { cancelUpgrade(input: $input) { __typename
  ... on MutationCancelUpgradeSuccess { data { job { status } cancelled { deviceKey status failureReason failureReasonText failedAt } notCancelled { deviceKey reason message } } }
  ... on Error { message code } } }`;
const RETRY = `mutation($input: RetryUpgradeInput!) { retryUpgrade(input: $input) { __typename
  ... on MutationRetryUpgradeSuccess { data { job { status } retriedCount retried { deviceKey status attempt failureReason } notRetried { deviceKey reason } } }
  ... on Error { message code } } }`;

/** A job over devices 1-6 with one device in each status (and dev-0006 failed twice over). */
async function jobInEveryState(): Promise<string> {
  const jobId = await createUpgradeJob(t, { firmwareId, scope: { deviceKeys: keys([0, 1, 2, 3, 4, 5]) } });
  await setTaskStates(t, jobId, {
    'dev-0002': { status: 'PUSHED' },
    'dev-0003': { status: 'IN_PROGRESS', progress: 40 },
    'dev-0004': { status: 'SUCCEEDED' },
    'dev-0005': { status: 'FAILED', reason: 'DOWNLOAD_FAILED' },
    'dev-0006': { status: 'FAILED', reason: 'TIMEOUT' },
  });
  return jobId;
}

describe('cancelUpgrade', () => {
  it('cancels To be Pushed and Pushed devices only, says why the others were not, and tells pushed devices', async () => {
    const jobId = await jobInEveryState();
    const commands: DeviceCancelEvent[] = [];
    const listener = t.server.services.events.subscribe('device:cancel');
    const collecting = (async () => {
      for await (const event of listener) commands.push(event);
    })();

    const result = await t.gql(CANCEL, { input: { jobId, deviceKeys: [...keys([0, 1, 2, 3, 4]), 'not-in-job'] } });
    const data = result.data.cancelUpgrade.data;
    expect(data.cancelled.map((d: { deviceKey: string }) => d.deviceKey)).toEqual(keys([0, 1]));
    for (const device of data.cancelled) {
      expect(device).toMatchObject({ status: 'FAILED', failureReason: 'CANCELLED_BY_USER', failureReasonText: 'Cancelled by user' });
      expect(Date.parse(device.failedAt)).toBeGreaterThan(Date.now() - 60_000);
    }
    expect(data.notCancelled).toEqual([
      { deviceKey: 'dev-0003', reason: 'IN_PROGRESS', message: expect.stringMatching(/already upgrading/) },
      { deviceKey: 'dev-0004', reason: 'ALREADY_FINISHED', message: expect.any(String) },
      { deviceKey: 'dev-0005', reason: 'ALREADY_FINISHED', message: expect.any(String) },
      { deviceKey: 'not-in-job', reason: 'NOT_IN_JOB', message: expect.any(String) },
    ]);
    // Only the device that had been pushed is sent a cancel command.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await listener.return?.();
    await collecting;
    expect(commands).toEqual([
      { ouId: expect.any(String), jobId: expect.any(String), productKey: 'meter', deviceKeys: ['dev-0002'], reqId: expect.any(String) },
    ]);

    const tasks = await jobTasksByKey(t, jobId);
    expect(tasks['dev-0003'].status).toBe('IN_PROGRESS');
    expect(tasks['dev-0004'].status).toBe('SUCCEEDED');
    expect(tasks['dev-0005'].failureReason).toBe('DOWNLOAD_FAILED');
  });

  it('cancelling the last unfinished devices finishes the job', async () => {
    const jobId = await createUpgradeJob(t, { firmwareId, scope: { deviceKeys: keys([6, 7]) } });
    await setTaskStates(t, jobId, { 'dev-0007': { status: 'SUCCEEDED' } });
    const result = await t.gql(CANCEL, { input: { jobId, deviceKeys: keys([7]) } });
    expect(result.data.cancelUpgrade.data.job.status).toBe('FINISHED');
  });

  it('cancelling twice reports the second time as already finished and changes nothing', async () => {
    const jobId = await createUpgradeJob(t, { firmwareId, scope: { deviceKeys: keys([0, 1]) } });
    await t.gql(CANCEL, { input: { jobId, deviceKeys: keys([0]) } });
    const before = await jobSnapshot(t, jobId);
    const again = await t.gql(CANCEL, { input: { jobId, deviceKeys: keys([0]) } });
    expect(again.data.cancelUpgrade.data.notCancelled).toEqual([expect.objectContaining({ deviceKey: 'dev-0001', reason: 'ALREADY_FINISHED' })]);
    expect(await jobSnapshot(t, jobId)).toEqual(before);
  });

  it('refuses an empty list and an unknown job with typed errors', async () => {
    const jobId = await createUpgradeJob(t, { firmwareId, scope: { deviceKeys: keys([0]) } });
    expect((await t.gql(CANCEL, { input: { jobId, deviceKeys: [] } })).data.cancelUpgrade.__typename).toBe('InvalidInputError');
    const unknown = await t.gql(CANCEL, { input: { jobId: 'nope', deviceKeys: keys([0]) } });
    expect(unknown.data.cancelUpgrade.__typename).toBe('NotFoundError');
  });
});

describe('retryUpgrade', () => {
  it('starts a new attempt for failed devices only', async () => {
    const jobId = await jobInEveryState();
    const result = await t.gql(RETRY, { input: { jobId, deviceKeys: keys([1, 4, 5]) } });
    const data = result.data.retryUpgrade.data;
    expect(data.retried.map((d: { deviceKey: string }) => d.deviceKey)).toEqual(keys([4, 5]));
    expect(
      data.retried.every(
        (d: { status: string; attempt: number; failureReason: null }) => d.status === 'TO_BE_PUSHED' && d.attempt === 2 && d.failureReason === null,
      ),
    ).toBe(true);
    expect(data.notRetried).toEqual([{ deviceKey: 'dev-0002', reason: 'NOT_FAILED' }]);
  });

  it('without device keys retries every failed device, or those of one failure reason', async () => {
    const jobId = await jobInEveryState();
    const onlyTimeouts = await t.gql(RETRY, { input: { jobId, failureReason: 'TIMEOUT' } });
    expect(onlyTimeouts.data.retryUpgrade.data.retried.map((d: { deviceKey: string }) => d.deviceKey)).toEqual(['dev-0006']);
    const rest = await t.gql(RETRY, { input: { jobId } });
    expect(rest.data.retryUpgrade.data.retriedCount).toBe(1);
    expect((await jobSnapshot(t, jobId)).statusCounts.failed).toBe(0);
  });

  it('reopens a finished job, and is refused on a cancelled one', async () => {
    const jobId = await createUpgradeJob(t, { firmwareId, scope: { deviceKeys: keys([0]) } });
    await t.gql(CANCEL, { input: { jobId, deviceKeys: keys([0]) } });
    expect((await jobSnapshot(t, jobId)).status).toBe('FINISHED');
    const retried = await t.gql(RETRY, { input: { jobId } });
    expect(retried.data.retryUpgrade.data.job.status).toBe('RUNNING');

    await t.gql(`mutation($id: ID!) { cancelJob(id: $id) { __typename } }`, { id: jobId });
    const refused = await t.gql(RETRY, { input: { jobId } });
    expect(refused.data.retryUpgrade).toMatchObject({ __typename: 'InvalidJobStateError', code: 'INVALID_JOB_STATE' });
  });
});

describe('stopJob, startJob, cancelJob', () => {
  const control = (name: string, id: string) =>
    t.gql(
      `mutation($id: ID!) { ${name}(id: $id) { __typename ... on Mutation${name[0].toUpperCase()}${name.slice(1)}Success { data { status } } ... on Error { message code } } }`,
      { id },
    );

  it('moves through the allowed states and refuses the others, changing nothing', async () => {
    const jobId = await createUpgradeJob(t, { firmwareId, scope: { deviceKeys: keys([0, 1, 2]) } });
    await setTaskStates(t, jobId, { 'dev-0002': { status: 'PUSHED' }, 'dev-0003': { status: 'IN_PROGRESS' } });
    expect((await control('startJob', jobId)).data.startJob.__typename).toBe('InvalidJobStateError');
    expect((await control('stopJob', jobId)).data.stopJob.data.status).toBe('STOPPED');
    expect((await jobTasksByKey(t, jobId))['dev-0001'].waitingReason).toBe('JOB_STOPPED');
    expect((await control('stopJob', jobId)).data.stopJob.__typename).toBe('InvalidJobStateError');
    expect((await control('startJob', jobId)).data.startJob.data.status).toBe('RUNNING');

    expect((await control('cancelJob', jobId)).data.cancelJob.data.status).toBe('CANCELLED');
    const tasks = await jobTasksByKey(t, jobId);
    expect(tasks['dev-0001']).toMatchObject({ status: 'FAILED', failureReason: 'CANCELLED_BY_USER' });
    expect(tasks['dev-0002']).toMatchObject({ status: 'FAILED', failureReason: 'CANCELLED_BY_USER' });
    // A device already flashing finishes and reports as usual.
    expect(tasks['dev-0003'].status).toBe('IN_PROGRESS');

    const before = await jobSnapshot(t, jobId);
    for (const name of ['startJob', 'stopJob', 'cancelJob']) {
      const result = await control(name, jobId);
      expect(result.data[name]).toMatchObject({ __typename: 'InvalidJobStateError', message: expect.stringMatching(/CANCELLED/) });
    }
    expect(await jobSnapshot(t, jobId)).toEqual(before);
  });

  it('starts a scheduled job now', async () => {
    const result = await t.gql(
      `mutation($input: CreateUpgradeJobInput!) { createUpgradeJob(input: $input) { ... on MutationCreateUpgradeJobSuccess { data { id status } } } }`,
      { input: { firmwareId, name: 'Later', scope: { allDevices: true }, schedule: { startAt: new Date(Date.now() + 86400_000).toISOString() } } },
    );
    const job = result.data.createUpgradeJob.data;
    expect(job.status).toBe('SCHEDULED');
    expect((await control('startJob', job.id)).data.startJob.data.status).toBe('RUNNING');
  });
});
