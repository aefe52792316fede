/**
 * Acceptance bug (issue 14): editJob applied a new timeout to tasks in flight as push time plus
 * real minutes, while the engine counts job minutes (ENGINE_MINUTE_MS): with a short minute, a
 * shortened timeout never reached the tasks already pushed.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { queryRows } from '@updraft/server/db/sql.js';
import { createUpgradeJob, rawId, seedProduct, setTaskStates, uploadFirmware } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';

const MINUTE_MS = 1000;
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ engineEnabled: false, engineMinuteMs: MINUTE_MS });
  await seedProduct(t, 'valve', 3, () => ({ firmwareVersion: '1.0' }));
});
afterAll(() => t?.close());

it('moves the timeout of tasks in flight to their push plus the new timeout in job minutes', async () => {
  const firmwareId = (await uploadFirmware(t, { productKey: 'valve', name: 'Two', version: '2.0' })).id;
  const jobId = await createUpgradeJob(t, { firmwareId, scope: { allDevices: true }, timeoutMinutes: 60 });
  await setTaskStates(t, jobId, { 'dev-0001': { status: 'PUSHED' }, 'dev-0002': { status: 'IN_PROGRESS', progress: 30 } });
  const result = await t.gql(`mutation($input: EditJobInput!) { editJob(input: $input) { __typename } }`, { input: { jobId, timeoutMinutes: 7 } });
  expect(result.data.editJob.__typename).toBe('MutationEditJobSuccess');
  const rows = await queryRows<{ device_key: string; status: string; ms: number | string | null }>(
    t.server.services.db,
    sql`select device_key, status, extract(epoch from timeout_at - pushed_at) * 1000 as ms from job_tasks where job_id = ${rawId(jobId)} order by device_key`,
  );
  expect(rows.map((r) => [r.device_key, r.status, r.ms === null ? null : Math.round(Number(r.ms))])).toEqual([
    ['dev-0001', 'PUSHED', 7 * MINUTE_MS],
    ['dev-0002', 'IN_PROGRESS', 7 * MINUTE_MS],
    ['dev-0003', 'TO_BE_PUSHED', null],
  ]);
});
