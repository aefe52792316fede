/**
 * A page of a job's devices comes with the job's change cursor as of just before it was read: a
 * client that subscribes afterwards with that cursor receives the changes made in between.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { subscribe } from '../support/subscriptions.js';
import { createUpgradeJob, seedProduct, uploadFirmware } from '../support/fixtures.js';

let t: TestServer;
let jobId: string;

beforeAll(async () => {
  t = await startTestServer({ engineEnabled: false });
  await seedProduct(t, 'meter', 3);
  const firmwareId = (await uploadFirmware(t, { productKey: 'meter', name: 'Two', version: '2.0' })).id;
  jobId = await createUpgradeJob(t, { firmwareId, scope: { allDevices: true } });
});
afterAll(() => t?.close());

describe('JobDeviceConnection.changeCursor', () => {
  it('lets a client subscribe after reading a page without missing what changed in between', async () => {
    const page = (await t.gql(`query($id: ID!) { job(id: $id) { devices(status: TO_BE_PUSHED) { changeCursor nodes { deviceKey } } } }`, { id: jobId })).data
      .job.devices;
    expect(page.nodes).toHaveLength(3);
    // A change lands after the read, before the client subscribes.
    await t.gql(`mutation($i: CancelUpgradeInput!) { cancelUpgrade(input: $i) { __typename } }`, { i: { jobId, deviceKeys: ['dev-0002'] } });

    const sub = subscribe({
      url: t.server.wsUrl,
      query: `subscription($id: ID!, $after: String) { jobDeviceUpdates(jobId: $id, after: $after, status: TO_BE_PUSHED) { cursor devices { deviceKey } otherDeviceKeys } }`,
      variables: { id: jobId, after: page.changeCursor },
      connectionParams: t.connectionParams(),
    });
    const first = (await sub.next()) as { kind: string; data: any };
    expect(first.data.jobDeviceUpdates.otherDeviceKeys).toEqual(['dev-0002']);
    expect(Number(first.data.jobDeviceUpdates.cursor)).toBeGreaterThan(Number(page.changeCursor));
    await sub.dispose();
  });
});
