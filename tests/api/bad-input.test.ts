import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { createUpgradeJob, jobSnapshot, seedProduct, uploadFirmware } from '../support/fixtures.js';

let t: TestServer;
let jobId: string;

beforeAll(async () => {
  // The engine stays off: these tests are about the API's rules, and pin task states themselves.
  t = await startTestServer({ engineEnabled: false });
  await seedProduct(t, 'meter', 3);
  const firmwareId = (await uploadFirmware(t, { productKey: 'meter', name: 'Two', version: '2.0' })).id;
  jobId = await createUpgradeJob(t, { firmwareId, scope: { allDevices: true } });
});
afterAll(() => t?.close());

async function post(body: string, contentType = 'application/json') {
  const response = await fetch(t.server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': contentType, accept: 'application/graphql-response+json', ...t.defaultHeaders?.() },
    body,
  });
  return { status: response.status, body: (await response.json().catch(() => null)) as any };
}

describe('malformed requests', () => {
  it('a syntax error is a 400 with a clear message', async () => {
    const { status, body } = await post(JSON.stringify({ query: '{ jobs { totalCount ' }));
    expect(status).toBe(400);
    expect(body.errors[0].message).toMatch(/Syntax Error/);
  });

  it('an unknown field and a wrongly typed variable are 400s', async () => {
    const unknown = await post(JSON.stringify({ query: '{ jobs { nope } }' }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].message).toMatch(/nope/);
    const wrongType = await post(JSON.stringify({ query: 'query($n: Int) { jobs(first: $n) { totalCount } }', variables: { n: 'ten' } }));
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.errors[0].message).toMatch(/Int/);
  });

  it('a body that is not JSON is refused', async () => {
    const { status } = await post('{"query": ');
    expect(status).toBe(400);
  });

  it('a query deeper than the limit is refused before it runs', async () => {
    const deep = `{ jobs { nodes { devices { nodes { job { devices { nodes { job { devices { nodes { job { devices { nodes { id } } } } } } } } } } } } } }`;
    const result = await t.gql(deep);
    expect(result.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(result.errors?.[0].message).toMatch(/too deep/);
  });

  it('a page larger than the maximum is refused', async () => {
    const result = await t.gql(`query($id: ID!) { job(id: $id) { devices(first: 100000) { nodes { deviceKey } } } }`, { id: jobId });
    expect(result.errors?.[0]).toMatchObject({ message: 'first must be between 0 and 500, got 100000', extensions: { code: 'BAD_USER_INPUT' } });
    const jobs = await t.gql(`{ jobs(last: 501) { nodes { id } } }`);
    expect(jobs.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('wrong ids', () => {
  it.each(['garbage', '', 'T3RhSm9iOm5vdC1hLXV1aWQ=', 'T3RhSm9iOjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA=='])(
    'job(id: %j) is null without error',
    async (id) => {
      const result = await t.gql(`query($id: ID!) { job(id: $id) { id } }`, { id });
      expect(result).toEqual({ data: { job: null } });
    },
  );

  it('node(id) with a malformed id is a clear error', async () => {
    const result = await t.gql(`{ node(id: "garbage") { id } }`);
    expect(result.errors?.[0].message).toMatch(/Invalid global ID/);
  });

  it('node(id) with an unknown or mistyped id is null', async () => {
    for (const id of ['Sm9iRGV2aWNlOmFiYw==', 'Sm9iRGV2aWNlOjk5OTk5OTk=', 'RGV2aWNlOjE=']) {
      const result = await t.gql(`query($id: ID!) { node(id: $id) { id } }`, { id });
      expect(result, id).toEqual({ data: { node: null } });
    }
  });

  it('a mutation on an unknown job is a typed NotFoundError and changes nothing', async () => {
    const before = await jobSnapshot(t, jobId);
    const result = await t.gql(`mutation { stopJob(id: "T3RhSm9iOjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA==") { __typename ... on Error { code } } }`);
    expect(result.data.stopJob).toEqual({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    expect(await jobSnapshot(t, jobId)).toEqual(before);
  });
});

describe('bad values', () => {
  const register = (devices: unknown[]) =>
    t.gql(
      `mutation($input: RegisterDevicesInput!) { registerDevices(input: $input) { __typename ... on InvalidInputError { issues { path message } } ... on Error { message } } }`,
      { input: { productKey: 'meter', devices } },
    );
  const deviceCount = async () => (await t.gql(`{ devices { totalCount } }`)).data.devices.totalCount;

  it('device keys that could not be MQTT topic levels, repeated keys and taken keys are refused, registering none', async () => {
    const before = await deviceCount();
    for (const devices of [[{ deviceKey: 'a/b' }], [{ deviceKey: 'ok-1' }, { deviceKey: 'x+y' }], [{ deviceKey: 'new-1' }, { deviceKey: 'new-1' }], []]) {
      expect((await register(devices)).data.registerDevices.__typename, JSON.stringify(devices)).toBe('InvalidInputError');
    }
    const taken = await register([{ deviceKey: 'fresh-1' }, { deviceKey: 'dev-0001' }]);
    expect(taken.data.registerDevices).toMatchObject({ __typename: 'AlreadyExistsError', message: expect.stringContaining('dev-0001') });
    expect(await deviceCount()).toBe(before);
  });

  it('product keys: invalid and duplicate ones are typed errors', async () => {
    const create = (productKey: string) =>
      t.gql(`mutation($k: String!) { createProduct(input: { productKey: $k, name: "P" }) { __typename } }`, { k: productKey });
    expect((await create('has.dot')).data.createProduct.__typename).toBe('InvalidInputError');
    expect((await create('meter')).data.createProduct.__typename).toBe('AlreadyExistsError');
  });

  it('search text is data, never SQL', async () => {
    const result = await t.gql(`{ devices(search: "'; drop table devices; --") { totalCount } }`);
    expect(result.data.devices.totalCount).toBe(0);
    expect(await deviceCount()).toBeGreaterThan(0);
  });
});

describe('health', () => {
  it('/healthz says the process serves; /readyz that the database answers', async () => {
    const live = await fetch(`${t.server.url}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${t.server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', dependencies: { database: 'ok' } });
  });
});
