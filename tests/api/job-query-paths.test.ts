/**
 * The job details query's fast paths answer exactly what the general ones do, to whoever may see it
 * and nobody else: the job lookup is prepared per selection shape (values bound per request, so one
 * unit's lookup never answers another's), and JobDevice checks its scope once per row rather than per
 * field (a caller without OTA_READ still gets FORBIDDEN and no row data).
 */
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS } from '@updraft/server/db/schema.js';
import { createUpgradeJob, rawId, seedProduct, uploadFirmware } from '../support/fixtures.js';
import { startTestServer, type TestServer, type TestUser } from '../support/server.js';

let t: TestServer;
let jobId: string;
let otherUnit: TestUser;
let withoutOtaRead: TestUser;

const DETAILS = `query($id: ID!) { job(id: $id) { id name status deviceCount toBePushed: devices(status: TO_BE_PUSHED, first: 5) { totalCount nodes { id deviceKey status } } } }`;

beforeAll(async () => {
  t = await startTestServer({ engineEnabled: false });
  await seedProduct(t, 'meter', 3);
  const firmware = await uploadFirmware(t, { productKey: 'meter', name: 'Fw', version: '2.0' });
  jobId = await createUpgradeJob(t, { firmwareId: firmware.id, name: 'Paths', scope: { allDevices: true } });
  otherUnit = await t.createUser({ permissions: PERMISSIONS, ouName: 'Elsewhere', username: 'elsewhere@example.com' });
  withoutOtaRead = await t.createUser({ permissions: PERMISSIONS.filter((p) => p !== 'OTA_READ'), username: 'no-ota-read@example.com' });
});
afterAll(() => t?.close());

describe('the job lookup, prepared per selection', () => {
  it('answers the same selection for each caller with their own unit only', async () => {
    for (let i = 0; i < 3; i++) {
      const mine = await t.gql(DETAILS, { id: jobId });
      expect(mine.errors).toBeUndefined();
      expect(mine.data.job).toMatchObject({ id: jobId, name: 'Paths', deviceCount: 3, toBePushed: { totalCount: 3 } });
      const theirs = await otherUnit.gql(DETAILS, { id: jobId });
      expect(theirs).toEqual({ data: { job: null } });
    }
    expect((await t.gql(DETAILS, { id: encodeGlobalID('OtaJob', '00000000-0000-4000-8000-000000000000') })).data.job).toBeNull();
  });

  it('answers selections of different shapes (relations, fragments) each with their own fields', async () => {
    const withProduct = await t.gql(`query($id: ID!) { job(id: $id) { name product { productKey } firmware { version } } }`, { id: jobId });
    expect(withProduct).toEqual({ data: { job: { name: 'Paths', product: { productKey: 'meter' }, firmware: { version: '2.0' } } } });
    const fragment = await t.gql(`query($id: ID!) { job(id: $id) { ...F } } fragment F on OtaJob { type timeoutMinutes }`, { id: jobId });
    expect(fragment.errors).toBeUndefined();
    expect(fragment.data.job).toEqual({ type: 'UPGRADE', timeoutMinutes: expect.any(Number) });
    // Many distinct shapes (more than are prepared) still answer correctly.
    const fields = ['name', 'status', 'type', 'policy', 'maxConcurrency', 'timeoutMinutes', 'createdAt', 'updatedAt'];
    for (let mask = 1; mask < 1 << fields.length; mask += 3) {
      const chosen = fields.filter((_, i) => mask & (1 << i));
      const result = await t.gql(`query($id: ID!) { job(id: $id) { id ${chosen.join(' ')} } }`, { id: jobId });
      expect(result.errors).toBeUndefined();
      expect(Object.keys(result.data.job)).toEqual(['id', ...chosen]);
    }
  });
});

describe('JobDevice rows', () => {
  it('are refused, row data and all, to a caller without OTA_READ reaching them by node id', async () => {
    const page = await t.gql(DETAILS, { id: jobId });
    const taskId = page.data.job.toBePushed.nodes[0].id as string;
    expect(rawId(taskId)).toMatch(/^\d+$/);
    const mine = await t.gql(`query($id: ID!) { node(id: $id) { ... on JobDevice { deviceKey status } } }`, { id: taskId });
    expect(mine).toEqual({ data: { node: { deviceKey: page.data.job.toBePushed.nodes[0].deviceKey, status: 'TO_BE_PUSHED' } } });
    const refused = await withoutOtaRead.gql(`query($id: ID!) { node(id: $id) { ... on JobDevice { deviceKey status progress } } }`, { id: taskId });
    expect(refused.data?.node ?? null).toBeNull();
    expect(refused.errors?.map((e) => e.extensions?.code)).toContain('FORBIDDEN');
    expect(JSON.stringify(refused)).not.toContain(page.data.job.toBePushed.nodes[0].deviceKey);
  });
});
