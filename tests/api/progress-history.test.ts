import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { createUpgradeJob, rawId, seedProduct, setTaskStates, uploadFirmware } from '../support/fixtures.js';

let t: TestServer;
let jobId: string;
const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const minute = (m: number) => new Date(T0 + m * 60_000).toISOString();

beforeAll(async () => {
  t = await startTestServer({ engineEnabled: false });
  await seedProduct(t, 'meter', 5);
  const firmwareId = (await uploadFirmware(t, { productKey: 'meter', name: 'Two', version: '2.0' })).id;
  jobId = await createUpgradeJob(t, { firmwareId, scope: { allDevices: true } });
  await setTaskStates(t, jobId, {
    'dev-0001': { status: 'SUCCEEDED' },
    'dev-0002': { status: 'SUCCEEDED' },
    'dev-0003': { status: 'FAILED', reason: 'TIMEOUT' },
    'dev-0004': { status: 'IN_PROGRESS' },
  });
  // A job that ran from T0 to T0 + 10 min; devices finished at 0.5, 2.5 and 9.9 minutes.
  const id = rawId(jobId);
  await t.database.handle.rawQuery(`update ota_jobs set started_at = $2, finished_at = $3 where id = $1`, [id, minute(0), minute(10)]);
  for (const [key, m] of [
    ['dev-0001', 0.5],
    ['dev-0002', 9.9],
    ['dev-0003', 2.5],
  ] as const) {
    await t.database.handle.rawQuery(`update job_tasks set finished_at = $3 where job_id = $1 and device_key = $2`, [id, key, minute(m)]);
  }
});
afterAll(() => t?.close());

describe('OtaJob.progressHistory', () => {
  it('counts devices final by each instant from the start to the end of the job', async () => {
    const result = await t.gql(`query($id: ID!) { job(id: $id) { progressHistory(points: 10) { at succeeded failed } } }`, { id: jobId });
    const history = result.data.job.progressHistory;
    expect(history).toHaveLength(11);
    expect(history.map((p: { at: string }) => p.at)).toEqual(Array.from({ length: 11 }, (_, i) => minute(i)));
    expect(history.map((p: { succeeded: number }) => p.succeeded)).toEqual([0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]);
    expect(history.map((p: { failed: number }) => p.failed)).toEqual([0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('refuses a number of points out of range', async () => {
    const result = await t.gql(`query($id: ID!) { job(id: $id) { progressHistory(points: 0) { at } } }`, { id: jobId });
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});
