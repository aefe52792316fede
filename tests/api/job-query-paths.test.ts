/**
 * The job details query's fast paths answer exactly what the general ones do, to whoever may see it
 * and nobody else: the job lookup is prepared per selection shape (values bound per request, so one
 * unit's lookup never answers another's), and JobDevice checks its scope once per row rather than per
 * field (a caller without OTA_READ still gets FORBIDDEN and no row data).
 */
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMISSIONS } from '@updraft/server/db/schema.js';
import { schema } from '@updraft/server/schema/index.js';
import { getNamedType, isObjectType, type GraphQLObjectType } from 'graphql';
import { createUpgradeJob, rawId, seedProduct, setTaskStates, uploadFirmware } from '../support/fixtures.js';
import { startTestServer, type TestServer, type TestUser } from '../support/server.js';

let t: TestServer;
let jobId: string;
let gaugeJobId: string;
let otherUnit: TestUser;
let withoutOtaRead: TestUser;

const DETAILS = `query($id: ID!) { job(id: $id) { id name status deviceCount toBePushed: devices(status: TO_BE_PUSHED, first: 5) { totalCount nodes { id deviceKey status } } } }`;

beforeAll(async () => {
  t = await startTestServer({ engineEnabled: false });
  await seedProduct(t, 'meter', 3);
  await seedProduct(t, 'gauge', 5);
  const firmware = await uploadFirmware(t, { productKey: 'meter', name: 'Fw', version: '2.0' });
  jobId = await createUpgradeJob(t, { firmwareId: firmware.id, name: 'Paths', scope: { allDevices: true } });
  otherUnit = await t.createUser({ permissions: PERMISSIONS, ouName: 'Elsewhere', username: 'elsewhere@example.com' });
  const gaugeFirmware = await uploadFirmware(t, { productKey: 'gauge', name: 'Gauge fw', version: '2.0' });
  gaugeJobId = await createUpgradeJob(t, { firmwareId: gaugeFirmware.id, name: 'Rows', scope: { allDevices: true } });
  await setTaskStates(t, gaugeJobId, {
    'dev-0001': { status: 'PUSHED' },
    'dev-0002': { status: 'IN_PROGRESS', progress: 40 },
    'dev-0003': { status: 'SUCCEEDED' },
    'dev-0004': { status: 'FAILED', reason: 'DOWNLOAD_FAILED', currentVersion: '1.0.0' },
  });
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

describe('page rows read only the columns their fields need', () => {
  const jobDevice = schema.getType('JobDevice') as GraphQLObjectType;
  const selectionOf = (name: string) => (isObjectType(getNamedType(jobDevice.getFields()[name].type)) ? `${name} { id }` : name);
  const allFields = Object.keys(jobDevice.getFields()).map(selectionOf).join(' ');

  /** Each row of every tab through the connection, and the same rows through node lookups (whole rows). */
  async function bothWays(fields: string) {
    const tabs = ['TO_BE_PUSHED', 'PUSHED', 'IN_PROGRESS', 'SUCCEEDED', 'FAILED'];
    const query = `query($id: ID!) { job(id: $id) { ${tabs.map((s) => `${s}: devices(status: ${s}, first: 10) { nodes { id ${fields} } edges { node { id ${fields} } } }`).join(' ')} } }`;
    const paged = await t.gql(query, { id: gaugeJobId });
    expect(paged.errors).toBeUndefined();
    const rows = tabs.flatMap((s) => paged.data.job[s].nodes);
    expect(rows).toHaveLength(5);
    expect(tabs.flatMap((s) => paged.data.job[s].edges.map((e: { node: unknown }) => e.node))).toEqual(rows);
    const looked = await t.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { ... on JobDevice { id ${fields} } } }`, {
      ids: rows.map((r: { id: string }) => r.id),
    });
    expect(looked.errors).toBeUndefined();
    return { rows, whole: looked.data.nodes };
  }

  it('answer every JobDevice field, alone and all together, as the whole row does', async () => {
    for (const name of Object.keys(jobDevice.getFields())) {
      const { rows, whole } = await bothWays(selectionOf(name));
      expect(rows, name).toEqual(whole);
    }
    const { rows, whole } = await bothWays(allFields);
    expect(rows).toEqual(whole);
    expect(rows.find((r: { status: string }) => r.status === 'FAILED')).toMatchObject({
      failureReason: 'DOWNLOAD_FAILED',
      currentVersion: '1.0.0',
      attempt: 1,
    });
  });

  it('through fragments and searches too', async () => {
    const fragment = `query($id: ID!) { job(id: $id) { devices(first: 10) { nodes { ...Row } } failed: devices(failureReason: DOWNLOAD_FAILED, currentVersion: "1.0.0", first: 10) { totalCount nodes { ... on JobDevice { deviceKey srcVersion failedAt waitingReason } } } } }
      fragment Row on JobDevice { deviceKey status attempt startedAt finishedAt }`;
    const result = await t.gql(fragment, { id: gaugeJobId });
    expect(result.errors).toBeUndefined();
    const devices = result.data.job.devices.nodes;
    expect(devices).toHaveLength(5);
    for (const row of devices) expect(row.attempt).toBe(1);
    expect(devices.find((r: { deviceKey: string }) => r.deviceKey === 'dev-0003').startedAt).toEqual(expect.any(String));
    expect(result.data.job.failed).toEqual({
      totalCount: 1,
      nodes: [{ deviceKey: 'dev-0004', srcVersion: '1.0.0', failedAt: expect.any(String), waitingReason: null }],
    });
  });
});

describe("a job's devices pages, read beside the job lookup", () => {
  const PAGES = `fragment Pages on OtaJob {
    toBePushed: devices(status: TO_BE_PUSHED, first: $first) { totalCount pageInfo { hasNextPage endCursor } nodes { id deviceKey status waitingReason } }
    failed: devices(status: FAILED, failureReason: DOWNLOAD_FAILED, currentVersion: $version, first: 2) { totalCount nodes { deviceKey failureReasonText } }
    ... on OtaJob { all: devices(first: 2, after: "dev-0001") { totalCount edges { cursor node { deviceKey progress } } } }
    skipped: devices(status: SUCCEEDED, first: 5) @include(if: $withSucceeded) { totalCount nodes { deviceKey } }
  }`;
  const variables = { first: 3, version: '1.0.0', withSucceeded: true };

  it('answer exactly what the same selection answers through node(id:), which reads them after the job', async () => {
    const viaJob = await t.gql(`query($id: ID!, $first: Int!, $version: String, $withSucceeded: Boolean!) { job(id: $id) { id ...Pages } } ${PAGES}`, {
      id: gaugeJobId,
      ...variables,
    });
    const viaNode = await t.gql(`query($id: ID!, $first: Int!, $version: String, $withSucceeded: Boolean!) { node(id: $id) { id ...Pages } } ${PAGES}`, {
      id: gaugeJobId,
      ...variables,
    });
    expect(viaJob.errors).toBeUndefined();
    expect(viaJob.data.job).toEqual(viaNode.data.node);
    expect(viaJob.data.job.failed).toEqual({ totalCount: 1, nodes: [{ deviceKey: 'dev-0004', failureReasonText: expect.any(String) }] });
    expect(viaJob.data.job.all.edges.map((e: { node: { deviceKey: string } }) => e.node.deviceKey)).toEqual(['dev-0002', 'dev-0003']);
    expect(viaJob.data.job.skipped).toEqual({ totalCount: 1, nodes: [{ deviceKey: 'dev-0003' }] });
    const without = await t.gql(`query($id: ID!, $first: Int!, $version: String, $withSucceeded: Boolean!) { job(id: $id) { id ...Pages } } ${PAGES}`, {
      id: gaugeJobId,
      ...variables,
      withSucceeded: false,
    });
    expect(without.data.job.skipped).toBeUndefined();
  });

  it("give nothing of another unit's job, and report bad arguments as before", async () => {
    const theirs = await otherUnit.gql(`query($id: ID!, $first: Int!, $version: String, $withSucceeded: Boolean!) { job(id: $id) { id ...Pages } } ${PAGES}`, {
      id: gaugeJobId,
      ...variables,
    });
    expect(theirs).toEqual({ data: { job: null } });
    const bad = `query($id: ID!) { job(id: $id) { id devices(status: PUSHED, failureReason: DOWNLOAD_FAILED, first: 2) { totalCount } } }`;
    const badViaJob = await t.gql(bad, { id: gaugeJobId });
    const badViaNode = await t.gql(`${bad.replace('job(id: $id) {', 'node(id: $id) { ... on OtaJob {')} }`, { id: gaugeJobId });
    expect(badViaJob.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(badViaJob.errors?.[0].message).toBe(badViaNode.errors?.[0].message);
    const tooMany = await t.gql(`query($id: ID!) { job(id: $id) { devices(first: 100000) { totalCount } } }`, { id: gaugeJobId });
    expect(tooMany.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  });
});
