/**
 * Bad input is the client's error, typed and precise, never a server fault (issue 13, item 7):
 * a NUL character in any text argument names the field and argument, and changes nothing; a
 * non-file where a file belongs is BAD_USER_INPUT; a malformed percent-encoded path is 400; an ID of
 * a type node() cannot load fails that field (or that item of nodes) alone. No driver text leaks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpgradeJob, jobSnapshot, seedProduct, uploadFirmware } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { sseSubscribe } from '../support/sse.js';
import { subscribe } from '../support/subscriptions.js';

let t: TestServer;
let jobId: string;
let firmwareId: string;

beforeAll(async () => {
  t = await startTestServer({ engineEnabled: false });
  await seedProduct(t, 'meter', 2);
  firmwareId = (await uploadFirmware(t, { productKey: 'meter', name: 'Two', version: '2.0' })).id;
  jobId = await createUpgradeJob(t, { firmwareId, scope: { allDevices: true } });
});
afterAll(() => t?.close());

const NUL = '\u0000';

function expectNulError(answer: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] }, field: string, argument: string) {
  expect(answer.data ?? null).toBeNull();
  expect(answer.errors).toHaveLength(1);
  expect(answer.errors?.[0]).toMatchObject({
    message: `Invalid arguments: ${field}(${argument}:) must not contain the NUL character (U+0000)`,
    extensions: { code: 'BAD_USER_INPUT', field, argument },
  });
  expect(JSON.stringify(answer)).not.toMatch(/byte sequence|postgres|drizzle|Failed query|\bat \w+ \(/i);
}

describe('a NUL character in text', () => {
  it('is refused naming the field, in a variable or in the document, for searches and keys', async () => {
    expectNulError(await t.gql('query($s: String) { jobs(search: $s) { totalCount } }', { s: `a${NUL}b` }), 'jobs', 'search');
    expectNulError(await t.gql(`{ jobs(search: "a\\u0000b") { totalCount } }`), 'jobs', 'search');
    expectNulError(await t.gql('query($s: String) { devices(search: $s) { totalCount } }', { s: NUL }), 'devices', 'search');
    expectNulError(
      await t.gql('query($id: ID!, $k: String) { job(id: $id) { name devices(deviceKey: $k) { totalCount } } }', { id: jobId, k: `dev${NUL}` }),
      'job.devices',
      'deviceKey',
    );
    // In a fragment too.
    expectNulError(
      await t.gql('query($id: ID!) { job(id: $id) { ...F } } fragment F on OtaJob { devices(deviceKey: "\\u0000") { totalCount } }', { id: jobId }),
      'job.devices',
      'deviceKey',
    );
  });

  it('in a job name or a tag key is refused, and nothing is created', async () => {
    const before = (await t.gql('{ jobs { totalCount } }')).data.jobs.totalCount;
    const create = `mutation($input: CreateUpgradeJobInput!) { createUpgradeJob(input: $input) { __typename } }`;
    expectNulError(await t.gql(create, { input: { firmwareId, name: `night${NUL}ly`, scope: { allDevices: true } } }), 'createUpgradeJob', 'input.name');
    expectNulError(
      await t.gql(create, { input: { firmwareId, name: 'tagged', scope: { tags: [{ key: `re${NUL}gion`, value: 'eu' }] } } }),
      'createUpgradeJob',
      'input.scope.tags.0.key',
    );
    const register = `mutation($input: RegisterDevicesInput!) { registerDevices(input: $input) { __typename } }`;
    expectNulError(
      await t.gql(register, { input: { productKey: 'meter', devices: [{ deviceKey: 'dev-9', tags: [{ key: NUL, value: 'x' }] }] } }),
      'registerDevices',
      'input.devices.0.tags.0.key',
    );
    expect((await t.gql('{ jobs { totalCount } }')).data.jobs.totalCount).toBe(before);
    expect((await t.gql('{ devices(productKey: "meter") { totalCount } }')).data.devices.totalCount).toBe(2);
    expect((await jobSnapshot(t, jobId)).deviceCount).toBe(2);
  });

  it('is refused in a subscription, over SSE and over graphql-ws', async () => {
    const stream = await sseSubscribe(t.server.graphqlUrl, `subscription($id: ID!) { jobProgress(jobId: $id) { id } }`, { id: `x${NUL}` }, t.defaultHeaders());
    const sseEvent = await stream.next();
    stream.close();
    expect(sseEvent.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'jobProgress', argument: 'jobId' });

    const ws = subscribe({
      url: t.server.wsUrl,
      query: `subscription($id: ID!) { jobProgress(jobId: $id) { id } }`,
      variables: { id: NUL },
      connectionParams: t.connectionParams(),
    });
    const wsEvent = await ws.next();
    await ws.dispose();
    expect(wsEvent.kind === 'next' || wsEvent.kind === 'error').toBe(true);
    const errors = wsEvent.kind === 'complete' ? undefined : wsEvent.errors;
    expect(errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'jobProgress', argument: 'jobId' });
  });
});

describe('a file argument that is not a file', () => {
  const mutation = 'mutation($input: UploadFirmwareInput!) { uploadFirmware(input: $input) { __typename } }';
  const input = { productKey: 'meter', name: 'Three', version: '3.0' };

  it('a string in JSON variables is BAD_USER_INPUT', async () => {
    const answer = await t.gql(mutation, { input: { ...input, file: 'firmware.bin' } });
    expect(answer.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(answer.errors?.[0].message).toMatch(/File must be a file sent as a part of a GraphQL multipart request/);
  });

  it('a text part of a multipart request mapped to the file is BAD_USER_INPUT', async () => {
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: mutation, variables: { input: { ...input, file: null } } }));
    form.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
    form.append('0', 'just some text, not a file');
    const response = await fetch(t.server.graphqlUrl, { method: 'POST', body: form, headers: { 'x-graphql-yoga-csrf': '1', ...t.defaultHeaders() } });
    const answer = (await response.json()) as { errors?: { message: string; extensions?: Record<string, unknown> }[] };
    expect(answer.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect((await t.gql('{ firmwares(productKey: "meter") { totalCount } }')).data.firmwares.totalCount).toBe(1);
  });
});

describe('paths and IDs', () => {
  it('a malformed percent-encoded path is 400, not 500', async () => {
    for (const path of ['/%E0%A4%A', '/jobs/%FF', '/assets/%C0%AF.js']) {
      const response = await fetch(`${t.server.url}${path}`);
      expect(response.status, path).toBe(400);
      expect(await response.text()).toMatch(/not valid percent-encoded/);
    }
  });

  it('node() of an OrganisationUnit ID fails that field alone; nodes() that item alone', async () => {
    const me = (await t.gql('{ me { organisationUnit { id } user { id } } }')).data.me;
    const single = await t.gql('query($id: ID!) { node(id: $id) { id } me { user { id } } }', { id: me.organisationUnit.id });
    expect(single.data).toEqual({ node: null, me: { user: { id: me.user.id } } });
    expect(single.errors).toHaveLength(1);
    expect(single.errors?.[0]).toMatchObject({ path: ['node'], extensions: { code: 'BAD_USER_INPUT' } });
    expect(single.errors?.[0].message).toMatch(/OrganisationUnit IDs cannot be loaded/);

    const many = await t.gql('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: [me.organisationUnit.id, me.user.id] });
    expect(many.data).toEqual({ nodes: [null, { id: me.user.id }] });
    expect(many.errors).toHaveLength(1);
    expect(many.errors?.[0]).toMatchObject({ path: ['nodes', 0], extensions: { code: 'BAD_USER_INPUT' } });

    // An ID naming no type at all stays a plain null, as any unknown ID.
    expect(await t.gql('query($id: ID!) { node(id: $id) { id } }', { id: Buffer.from('Nope:1').toString('base64') })).toEqual({ data: { node: null } });
  });
});
