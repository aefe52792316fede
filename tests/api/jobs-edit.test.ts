import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { createUpgradeJob, createVerificationJob, jobSnapshot, jobTasksByKey, rawId, seedProduct, setTaskStates, uploadFirmware } from '../support/fixtures.js';

let t: TestServer;
let firmwareId: string;

const EDIT = `mutation($input: EditJobInput!) { editJob(input: $input) {
  __typename
  ... on MutationEditJobSuccess { data { changedFields devicesAdded devicesRemoved job { id status timeoutMinutes } } }
  ... on JobNotEditableError { refusedFields { field reason } }
  ... on InvalidInputError { issues { path message } }
  ... on Error { message code } } }`;

const edit = (input: Record<string, unknown>) => t.gql(EDIT, { input });
const keys = (n: number[]) => n.map((i) => `dev-${String(i + 1).padStart(4, '0')}`);

beforeAll(async () => {
  // The engine stays off: these tests are about the API's rules, and pin task states themselves.
  t = await startTestServer({ engineEnabled: false });
  await seedProduct(t, 'meter', 10, (i) => ({
    firmwareVersion: i < 5 ? '1.0' : '1.1',
    tags: [{ key: 'region', value: i % 2 === 0 ? 'eu' : 'us' }],
  }));
  firmwareId = (await uploadFirmware(t, { productKey: 'meter', name: 'Two', version: '2.0' })).id;
});
afterAll(() => t?.close());

describe('editJob on a verification job', () => {
  it('while executing: refuses every field, names them, and changes nothing', async () => {
    const jobId = await createVerificationJob(t, { firmwareId, deviceKeys: keys([0, 1]) });
    const before = await jobSnapshot(t, jobId);
    expect(before.editable).toBe(false);
    expect(before.notEditableReason).toMatch(/executing/);
    const result = await edit({ jobId, timeoutMinutes: 30, deviceKeys: keys([2]), srcVersions: ['1.0'] });
    expect(result.data.editJob.__typename).toBe('JobNotEditableError');
    expect(result.data.editJob.refusedFields.map((f: { field: string }) => f.field).sort()).toEqual(['deviceKeys', 'srcVersions', 'timeoutMinutes']);
    expect(await jobSnapshot(t, jobId)).toEqual(before);
  });

  it('once finished: changes device keys, source versions and timeout, and runs again for added devices', async () => {
    const jobId = await createVerificationJob(t, { firmwareId, deviceKeys: keys([0, 1]) });
    await setTaskStates(t, jobId, { 'dev-0001': { status: 'SUCCEEDED' }, 'dev-0002': { status: 'FAILED', reason: 'WRITE_FAILED' } });
    const idle = await jobSnapshot(t, jobId);
    expect(idle.editable).toBe(true);
    expect(idle.editableFields).toEqual(['deviceKeys', 'srcVersions', 'timeoutMinutes']);

    const result = await edit({ jobId, deviceKeys: keys([0, 1, 2]), srcVersions: ['1.0'], timeoutMinutes: 30 });
    expect(result.data.editJob.__typename).toBe('MutationEditJobSuccess');
    expect(result.data.editJob.data).toMatchObject({ changedFields: ['deviceKeys', 'srcVersions', 'timeoutMinutes'], devicesAdded: 1, devicesRemoved: 0 });
    const tasks = await jobTasksByKey(t, jobId);
    expect(tasks['dev-0003'].status).toBe('TO_BE_PUSHED');
    expect(tasks['dev-0001'].status).toBe('SUCCEEDED');

    const history = (await t.gql(`query($id: ID!) { job(id: $id) { edits { editedBy changes { field from to } } } }`, { id: jobId })).data.job.edits;
    expect(history).toHaveLength(1);
    expect(history[0].changes).toContainEqual({ field: 'timeoutMinutes', from: '120', to: '30' });
  });

  it('refuses settings a verification job does not have, and more than 5 devices', async () => {
    const jobId = await createVerificationJob(t, { firmwareId, deviceKeys: keys([3]) });
    await setTaskStates(t, jobId, { 'dev-0004': { status: 'SUCCEEDED' } });
    const before = await jobSnapshot(t, jobId);
    const refused = await edit({ jobId, maxConcurrency: 5, name: 'Renamed' });
    expect(refused.data.editJob.__typename).toBe('JobNotEditableError');
    expect(refused.data.editJob.refusedFields.map((f: { field: string }) => f.field).sort()).toEqual(['maxConcurrency', 'name']);
    const tooMany = await edit({ jobId, deviceKeys: keys([0, 1, 2, 3, 4, 5]) });
    expect(tooMany.data.editJob.__typename).toBe('InvalidInputError');
    expect(await jobSnapshot(t, jobId)).toEqual(before);
  });
});

describe('editJob on an upgrade job', () => {
  it('changes every setting except name and firmware, even while it runs, and records who changed what', async () => {
    const jobId = await createUpgradeJob(t, { firmwareId, scope: { allDevices: true } });
    const other = (await uploadFirmware(t, { productKey: 'meter', name: 'Three', version: '3.0' })).id;
    const before = await jobSnapshot(t, jobId);
    const refused = await edit({ jobId, name: 'New name', firmwareId: other, maxConcurrency: 7 });
    expect(refused.data.editJob.__typename).toBe('JobNotEditableError');
    expect(refused.data.editJob.refusedFields.map((f: { field: string }) => f.field).sort()).toEqual(['firmwareId', 'name']);
    expect(await jobSnapshot(t, jobId)).toEqual(before);

    const accepted = await edit({
      jobId,
      maxConcurrency: 7,
      policy: 'INCREMENTAL',
      retry: { count: 2, intervalMinutes: 15 },
      schedule: { dailyWindowStart: '01:00', dailyWindowEnd: '05:00', timezone: 'Asia/Shanghai' },
      pushRatePerMinute: 120,
      abortThreshold: { percent: 25, minFinished: 20 },
      name: before.name,
    });
    expect(accepted.data.editJob.__typename).toBe('MutationEditJobSuccess');
    const after = await jobSnapshot(t, jobId);
    expect(after).toMatchObject({
      maxConcurrency: 7,
      policy: 'INCREMENTAL',
      retry: { count: 2, intervalMinutes: 15 },
      pushRatePerMinute: 120,
      abortThreshold: { percent: 25, minFinished: 20 },
      schedule: { startAt: null, endAt: null, dailyWindowStart: '01:00', dailyWindowEnd: '05:00', timezone: 'Asia/Shanghai' },
    });
    expect(after.edits).toHaveLength(1);

    // null clears the optional settings.
    await edit({ jobId, schedule: null, pushRatePerMinute: null, abortThreshold: null });
    expect(await jobSnapshot(t, jobId)).toMatchObject({ schedule: null, pushRatePerMinute: null, abortThreshold: null });
  });

  it('refuses a new type or product by name, as it does name and firmware; the values the job has are no change', async () => {
    const jobId = await createUpgradeJob(t, { firmwareId, scope: { allDevices: true } });
    const before = await jobSnapshot(t, jobId);
    const refused = await edit({ jobId, type: 'VERIFICATION', productKey: 'gauge', maxConcurrency: 8 });
    expect(refused.errors).toBeUndefined();
    expect(refused.data.editJob.__typename).toBe('JobNotEditableError');
    expect(refused.data.editJob.refusedFields).toEqual([
      { field: 'type', reason: 'the job type cannot be changed after creation' },
      { field: 'productKey', reason: 'the product cannot be changed after creation' },
    ]);
    expect(await jobSnapshot(t, jobId)).toEqual(before);

    const same = await edit({ jobId, type: 'UPGRADE', productKey: 'meter', maxConcurrency: 8 });
    expect(same.data.editJob.__typename).toBe('MutationEditJobSuccess');
    expect(same.data.editJob.data.changedFields).toEqual(['maxConcurrency']);

    const verification = await createVerificationJob(t, { firmwareId, deviceKeys: keys([9]) });
    await setTaskStates(t, verification, { 'dev-0010': { status: 'SUCCEEDED' } });
    const typeChange = await edit({ jobId: verification, type: 'UPGRADE' });
    expect(typeChange.data.editJob.refusedFields).toEqual([{ field: 'type', reason: 'the job type cannot be changed after creation' }]);
  });

  it('a new timeout also applies to devices in flight, counted from their push', async () => {
    const jobId = await createUpgradeJob(t, { firmwareId, scope: { deviceKeys: keys([0, 1]) }, timeoutMinutes: 120 });
    await setTaskStates(t, jobId, { 'dev-0001': { status: 'PUSHED' } });
    await edit({ jobId, timeoutMinutes: 30 });
    const [row] = await t.database.handle.rawQuery<{ minutes: string | number; waiting_timeout: unknown }>(
      `select extract(epoch from timeout_at - pushed_at) / 60 as minutes,
              (select timeout_at from job_tasks where job_id = $1 and device_key = 'dev-0002') as waiting_timeout
       from job_tasks where job_id = $1 and device_key = 'dev-0001'`,
      [rawId(jobId)],
    );
    expect(Number(row.minutes)).toBe(30);
    expect(row.waiting_timeout).toBeNull();
  });

  it('widening the scope adds devices; narrowing removes only devices still To be Pushed', async () => {
    const jobId = await createUpgradeJob(t, { firmwareId, scope: { allDevices: true, srcVersions: ['1.0'] } });
    expect(Object.keys(await jobTasksByKey(t, jobId)).sort()).toEqual(keys([0, 1, 2, 3, 4]));

    const widened = await edit({ jobId, srcVersions: [] });
    expect(widened.data.editJob.data).toMatchObject({ devicesAdded: 5, devicesRemoved: 0 });
    expect(Object.keys(await jobTasksByKey(t, jobId))).toHaveLength(10);

    await setTaskStates(t, jobId, {
      'dev-0002': { status: 'PUSHED' },
      'dev-0004': { status: 'IN_PROGRESS' },
      'dev-0006': { status: 'FAILED', reason: 'TIMEOUT' },
    });
    // Only eu devices (even indexes): us devices still To be Pushed go, the pushed/in progress/failed ones stay.
    const narrowed = await edit({ jobId, tags: [{ key: 'region', value: 'eu' }] });
    expect(narrowed.data.editJob.data).toMatchObject({ devicesRemoved: 2 });
    const tasks = await jobTasksByKey(t, jobId);
    expect(Object.keys(tasks).sort()).toEqual(keys([0, 1, 2, 3, 4, 5, 6, 8]));
    expect(tasks['dev-0002'].status).toBe('PUSHED');
    expect(tasks['dev-0004'].status).toBe('IN_PROGRESS');
    expect(tasks['dev-0006'].status).toBe('FAILED');

    // Switching to a key list keeps pushed ones, drops the unlisted To be Pushed ones, adds the new.
    const switched = await edit({ jobId, allDevices: false, deviceKeys: keys([0, 9]), tags: [] });
    expect(switched.data.editJob.__typename).toBe('MutationEditJobSuccess');
    expect(Object.keys(await jobTasksByKey(t, jobId)).sort()).toEqual(keys([0, 1, 3, 5, 9]));
  });

  it('a finished job whose scope widens runs again', async () => {
    const jobId = await createUpgradeJob(t, { firmwareId, scope: { deviceKeys: keys([7]) } });
    await setTaskStates(t, jobId, { 'dev-0008': { status: 'SUCCEEDED' } });
    await t.database.handle.rawQuery(`update ota_jobs set status = 'FINISHED', finished_at = now() where id = $1`, [rawId(jobId)]);
    const result = await edit({ jobId, deviceKeys: keys([7, 8]) });
    expect(result.data.editJob.data.job.status).toBe('RUNNING');
  });

  it('a cancelled job cannot be edited at all', async () => {
    const jobId = await createUpgradeJob(t, { firmwareId, scope: { allDevices: true } });
    await t.gql(`mutation($id: ID!) { cancelJob(id: $id) { __typename } }`, { id: jobId });
    const before = await jobSnapshot(t, jobId);
    expect(before.editableFields).toEqual([]);
    const result = await edit({ jobId, maxConcurrency: 3 });
    expect(result.data.editJob.__typename).toBe('JobNotEditableError');
    expect(result.data.editJob.refusedFields[0].reason).toMatch(/cancelled/i);
    expect(await jobSnapshot(t, jobId)).toEqual(before);
  });

  it('an edit asking for the current values changes nothing and records nothing', async () => {
    const jobId = await createUpgradeJob(t, { firmwareId, scope: { allDevices: true }, maxConcurrency: 9 });
    const result = await edit({ jobId, maxConcurrency: 9, allDevices: true });
    expect(result.data.editJob.data.changedFields).toEqual([]);
    expect((await jobSnapshot(t, jobId)).edits).toEqual([]);
  });

  it('refuses invalid values with InvalidInputError and unknown jobs with NotFoundError', async () => {
    const jobId = await createUpgradeJob(t, { firmwareId, scope: { allDevices: true } });
    const before = await jobSnapshot(t, jobId);
    const invalid = await edit({ jobId, timeoutMinutes: 1, maxConcurrency: 5 });
    expect(invalid.data.editJob.__typename).toBe('InvalidInputError');
    expect(await jobSnapshot(t, jobId)).toEqual(before);
    const conflicting = await edit({ jobId, deviceKeys: keys([1]) });
    expect(conflicting.data.editJob.__typename).toBe('InvalidInputError');
    const unknown = await edit({ jobId: 'T3RhSm9iOjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA==', maxConcurrency: 5 });
    expect(unknown.data.editJob.__typename).toBe('NotFoundError');
  });
});
