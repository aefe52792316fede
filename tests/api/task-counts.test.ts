/**
 * The counts the database keeps per job, status and failure reason (job_task_counts, maintained
 * by triggers) always equal a fresh count of the tasks, after every kind of change the API makes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { createUpgradeJob, createVerificationJob, rawId, seedProduct, setTaskStates, uploadFirmware } from '../support/fixtures.js';

let t: TestServer;
const keys = (n: number[]) => n.map((i) => `dev-${String(i + 1).padStart(4, '0')}`);

async function expectCountsExact() {
  const kept = await t.database.handle.rawQuery(`select job_id::text, status::text, reason, n::int from job_task_counts where n <> 0 order by 1, 2, 3`);
  const fresh = await t.database.handle.rawQuery(
    `select job_id::text, status::text, coalesce(failure_reason::text, '') as reason, count(*)::int as n
     from job_tasks group by 1, 2, 3 order by 1, 2, 3`,
  );
  expect(kept).toEqual(fresh);
  const negative = await t.database.handle.rawQuery(`select * from job_task_counts where n < 0`);
  expect(negative).toEqual([]);
}

beforeAll(async () => {
  // The engine stays off: these tests are about the API's rules, and pin task states themselves.
  t = await startTestServer({ engineEnabled: false });
  await seedProduct(t, 'meter', 30, (i) => ({ firmwareVersion: i < 20 ? '1.0' : '1.1' }));
});
afterAll(() => t?.close());

describe('job_task_counts', () => {
  it('stays exact through creation, reports, cancels, retries, edits and job cancellation', async () => {
    const firmwareId = (await uploadFirmware(t, { productKey: 'meter', name: 'Two', version: '2.0' })).id;
    const a = await createUpgradeJob(t, { firmwareId, scope: { allDevices: true, srcVersions: ['1.0'] } });
    const b = await createUpgradeJob(t, { firmwareId, scope: { deviceKeys: [...keys([0, 1, 2]), 'ghost'] } });
    const v = await createVerificationJob(t, { firmwareId, deviceKeys: keys([3, 4]) });
    await expectCountsExact();

    await setTaskStates(t, a, {
      'dev-0001': { status: 'PUSHED' },
      'dev-0002': { status: 'IN_PROGRESS' },
      'dev-0003': { status: 'SUCCEEDED' },
      'dev-0004': { status: 'FAILED', reason: 'TIMEOUT' },
      'dev-0005': { status: 'FAILED', reason: 'WRITE_FAILED' },
    });
    await setTaskStates(t, v, { 'dev-0004': { status: 'FAILED', reason: 'UNDEFINED' } });
    await expectCountsExact();

    await t.gql(`mutation($i: CancelUpgradeInput!) { cancelUpgrade(input: $i) { __typename } }`, { i: { jobId: a, deviceKeys: keys([0, 5, 6]) } });
    await t.gql(`mutation($i: RetryUpgradeInput!) { retryUpgrade(input: $i) { __typename } }`, { i: { jobId: a, failureReason: 'TIMEOUT' } });
    await expectCountsExact();

    await t.gql(`mutation($i: EditJobInput!) { editJob(input: $i) { __typename } }`, { i: { jobId: a, srcVersions: ['1.1'] } });
    await t.gql(`mutation($i: EditJobInput!) { editJob(input: $i) { __typename } }`, { i: { jobId: b, deviceKeys: keys([1, 9]) } });
    await t.gql(`mutation($id: ID!) { cancelJob(id: $id) { __typename } }`, { id: b });
    await expectCountsExact();

    // Rows going away with their job (cascade) take their counts with them.
    await t.database.handle.rawQuery(`delete from ota_jobs where id = $1`, [rawId(v)]);
    await expectCountsExact();
    const left = await t.database.handle.rawQuery(`select * from job_task_counts where job_id = $1`, [rawId(v)]);
    expect(left).toEqual([]);

    const job = (
      await t.gql(
        `query($id: ID!) { job(id: $id) { deviceCount statusCounts { toBePushed pushed inProgress succeeded failed } failureReasonCounts { reason count } } }`,
        { id: a },
      )
    ).data.job;
    const fresh = await t.database.handle.rawQuery<{ n: number }>(`select count(*)::int as n from job_tasks where job_id = $1`, [rawId(a)]);
    expect(job.deviceCount).toBe(fresh[0].n);
  });
});
