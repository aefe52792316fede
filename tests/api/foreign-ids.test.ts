/**
 * Another organisation unit's rows are invisible: its IDs behave exactly like unknown ones, in
 * queries, node lookups and mutations, and nothing of it changes.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { organisationUnits, PERMISSIONS } from '@updraft/server/db/schema.js';
import type { Caller } from '@updraft/server/domain/caller.js';
import { registerDevices } from '@updraft/server/domain/devices.js';
import { uploadFirmware as uploadFirmwareAs } from '@updraft/server/domain/firmware.js';
import { createUpgradeJob as createUpgradeJobAs } from '@updraft/server/domain/jobs/create.js';
import { createProduct as createProductAs } from '@updraft/server/domain/products.js';
import { inTransaction } from '@updraft/server/domain/transaction.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { createUpgradeJob, seedProduct, uploadFirmware } from '../support/fixtures.js';

let t: TestServer;
const foreign: Record<string, string> = {};

async function foreignSnapshot() {
  const { db } = t.server.services;
  return {
    jobs: await db.query.otaJobs.findMany({ where: { ouId: foreign.ouId }, columns: { status: true, maxConcurrency: true, updatedAt: true } }),
    tasks: await db.query.jobTasks.findMany({ where: { ouId: foreign.ouId }, columns: { status: true, updatedAt: true } }),
    firmwares: await db.query.firmwares.findMany({ where: { ouId: foreign.ouId }, columns: { deletedAt: true } }),
  };
}

beforeAll(async () => {
  // The engine stays off: these tests are about the API's rules, and pin task states themselves.
  t = await startTestServer({ engineEnabled: false });
  const services = t.server.services;
  const [ou] = await services.db.insert(organisationUnits).values({ name: 'Other Corp' }).returning();
  const other: Caller = { userId: null, displayName: 'Other admin', ouId: ou.id, permissions: new Set(PERMISSIONS) };
  foreign.ouId = ou.id;
  const product = await createProductAs(services.db, other, { productKey: 'other-meter', name: 'Theirs' });
  const [device] = await inTransaction(services, (s) =>
    registerDevices(s, other, { productKey: 'other-meter', devices: [{ deviceKey: 'their-1', firmwareVersion: '1.0' }] }),
  );
  const firmware = await uploadFirmwareAs(services, other, {
    productKey: 'other-meter',
    name: 'Theirs',
    version: '9.0',
    file: { name: 'f.bin', stream: Readable.from([randomBytes(512)]) },
  });
  const job = await inTransaction(services, (s) => createUpgradeJobAs(s, other, { firmwareId: firmware.id, name: 'Their job', scope: { allDevices: true } }));
  const [task] = await services.db.query.jobTasks.findMany({ where: { jobId: job.id } });
  Object.assign(foreign, {
    product: encodeGlobalID('Product', product.id),
    device: encodeGlobalID('Device', device.device.id),
    firmware: encodeGlobalID('Firmware', firmware.id),
    job: encodeGlobalID('OtaJob', job.id),
    task: encodeGlobalID('JobDevice', task.id),
  });

  // Our own unit has data too, so empty answers mean "filtered", not "nothing there".
  await seedProduct(t, 'meter', 2);
  const ours = await uploadFirmware(t, { productKey: 'meter', name: 'Ours', version: '2.0' });
  await createUpgradeJob(t, { firmwareId: ours.id, scope: { allDevices: true } });
});
afterAll(() => t?.close());

describe("another organisation unit's data", () => {
  it('is absent from every list', async () => {
    const result = await t.gql(
      `{ products { productKey } jobs { totalCount nodes { name } } firmwares { totalCount nodes { name } } devices { totalCount nodes { deviceKey } } }`,
    );
    expect(result.data.products).toEqual([{ productKey: 'meter' }]);
    expect(result.data.jobs.nodes.map((j: { name: string }) => j.name)).toEqual(['Upgrade']);
    expect(result.data.firmwares.totalCount).toBe(1);
    expect(result.data.devices.totalCount).toBe(2);
    const byKey = await t.gql(
      `{ jobs(productKey: "other-meter") { totalCount } firmwares(productKey: "other-meter") { totalCount } devices(productKey: "other-meter") { totalCount } }`,
    );
    expect(byKey.data).toEqual({ jobs: { totalCount: 0 }, firmwares: { totalCount: 0 }, devices: { totalCount: 0 } });
  });

  it('resolves to null through job, node and nodes', async () => {
    expect((await t.gql(`query($id: ID!) { job(id: $id) { name } }`, { id: foreign.job })).data.job).toBeNull();
    for (const key of ['product', 'device', 'firmware', 'job', 'task']) {
      const result = await t.gql(`query($id: ID!) { node(id: $id) { id } }`, { id: foreign[key] });
      expect(result, key).toEqual({ data: { node: null } });
    }
    const ids = ['product', 'device', 'firmware', 'job', 'task'].map((k) => foreign[k]);
    expect((await t.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids })).data.nodes).toEqual([null, null, null, null, null]);
  });

  it('cannot be changed: every mutation answers NotFoundError and nothing changes', async () => {
    const before = await foreignSnapshot();
    const mutations: [string, string, Record<string, unknown>][] = [
      ['editJob', 'mutation($v: EditJobInput!) { editJob(input: $v) { __typename } }', { jobId: foreign.job, maxConcurrency: 1 }],
      ['cancelUpgrade', 'mutation($v: CancelUpgradeInput!) { cancelUpgrade(input: $v) { __typename } }', { jobId: foreign.job, deviceKeys: ['their-1'] }],
      ['retryUpgrade', 'mutation($v: RetryUpgradeInput!) { retryUpgrade(input: $v) { __typename } }', { jobId: foreign.job }],
      ['stopJob', 'mutation($v: ID!) { stopJob(id: $v) { __typename } }', foreign.job as never],
      ['cancelJob', 'mutation($v: ID!) { cancelJob(id: $v) { __typename } }', foreign.job as never],
      ['deleteFirmware', 'mutation($v: ID!) { deleteFirmware(id: $v) { __typename } }', foreign.firmware as never],
      [
        'createUpgradeJob',
        'mutation($v: CreateUpgradeJobInput!) { createUpgradeJob(input: $v) { __typename } }',
        { firmwareId: foreign.firmware, name: 'Steal', scope: { allDevices: true } },
      ],
      [
        'createVerificationJob',
        'mutation($v: CreateVerificationJobInput!) { createVerificationJob(input: $v) { __typename } }',
        { firmwareId: foreign.firmware, name: 'Steal', deviceKeys: ['their-1'] },
      ],
      [
        'registerDevices',
        'mutation($v: RegisterDevicesInput!) { registerDevices(input: $v) { __typename } }',
        { productKey: 'other-meter', devices: [{ deviceKey: 'intruder' }] },
      ],
    ];
    for (const [field, query, v] of mutations) {
      const result = await t.gql(query, { v });
      expect(result.data?.[field]?.__typename, field).toBe('NotFoundError');
    }
    expect(await foreignSnapshot()).toEqual(before);
  });
});
