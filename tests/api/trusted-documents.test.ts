/**
 * Trusted documents: a unit registers its integration's documents and runs them by id (over HTTP
 * POST and GET, SSE and graphql-ws); a token restricted to trusted documents is refused any
 * ad-hoc query with a typed error, also through a session it was exchanged for; another unit's
 * documents are unknown to it.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProduct, createUpgradeJob, registerDevices, uploadFirmware } from '../support/fixtures.js';
import { bearer, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { subscribe } from '../support/subscriptions.js';

let t: TestServer;
let mobile: TestUser;
let jobId: string;

const PRODUCTS = 'query MobileProducts { products { productKey name } }';
const JOB = 'query MobileJob($id: ID!) { job(id: $id) { name status deviceCount } }';
const PROGRESS = 'subscription MobileProgress($jobId: ID!) { jobProgress(jobId: $jobId) { name deviceCount } }';
const idOf = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

async function post(body: Record<string, unknown>, headers: Record<string, string>) {
  const response = await fetch(t.server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] } };
}

beforeAll(async () => {
  t = await startTestServer();
  await createProduct(t, 'mobile-meter');
  await registerDevices(t, 'mobile-meter', [{ deviceKey: 'm-1', firmwareVersion: '1.0' }]);
  const firmware = await uploadFirmware(t, { productKey: 'mobile-meter', name: 'm-fw', version: '2.0' });
  jobId = await createUpgradeJob(t, { firmwareId: firmware.id, name: 'mobile job', scope: { allDevices: true } });
  mobile = await t.createUser({ permissions: ['OTA_READ', 'DEVICE_READ'] });
  // The mobile app's token: trusted documents only.
  const restricted = await mobile.gql(
    `mutation { createApiToken(input: { name: "ios app", permissions: [OTA_READ, DEVICE_READ], trustedDocumentsOnly: true }) {
       __typename ... on MutationCreateApiTokenSuccess { data { token apiToken { trustedDocumentsOnly } } } } }`,
  );
  expect(restricted.data.createApiToken.data.apiToken.trustedDocumentsOnly).toBe(true);
  mobile = { ...mobile, token: restricted.data.createApiToken.data.token, headers: bearer(restricted.data.createApiToken.data.token) };
});

afterAll(async () => {
  await t?.close();
});

describe('registering', () => {
  it('answers each document with its id, the SHA-256 of its text; registering again changes nothing', async () => {
    const register = () =>
      t.gql(
        `mutation($input: RegisterTrustedDocumentsInput!) { registerTrustedDocuments(input: $input) {
           __typename ... on MutationRegisterTrustedDocumentsSuccess { data { documentId operationName clientName } } ... on Error { message } } }`,
        { input: { clientName: 'ios-app 2.3', documents: [PRODUCTS, JOB, PROGRESS] } },
      );
    const first = await register();
    expect(first.data.registerTrustedDocuments.data).toEqual([
      { documentId: idOf(PRODUCTS), operationName: 'MobileProducts', clientName: 'ios-app 2.3' },
      { documentId: idOf(JOB), operationName: 'MobileJob', clientName: 'ios-app 2.3' },
      { documentId: idOf(PROGRESS), operationName: 'MobileProgress', clientName: 'ios-app 2.3' },
    ]);
    expect((await register()).data.registerTrustedDocuments.data).toEqual(first.data.registerTrustedDocuments.data);
    const listed = await t.gql('{ trustedDocuments(clientName: "ios-app 2.3") { documentId } }');
    expect(listed.data.trustedDocuments).toHaveLength(3);
  });

  it('refuses documents that do not validate, and registers none of the batch', async () => {
    const result = await t.gql(
      `mutation($input: RegisterTrustedDocumentsInput!) { registerTrustedDocuments(input: $input) { __typename ... on InvalidInputError { issues { path message } } } }`,
      { input: { clientName: 'broken', documents: ['query Fine { products { name } }', 'query Broken { noSuchField }', '{ '] } },
    );
    expect(result.data.registerTrustedDocuments.__typename).toBe('InvalidInputError');
    expect(result.data.registerTrustedDocuments.issues.map((i: { path: string[] }) => i.path.join('.'))).toEqual(['input.documents.1', 'input.documents.2']);
    expect((await t.gql('{ trustedDocuments(clientName: "broken") { documentId } }')).data.trustedDocuments).toEqual([]);
  });
});

describe('a token restricted to trusted documents', () => {
  it('is refused an ad-hoc query with a typed error, and nothing runs', async () => {
    const refused = await post({ query: PRODUCTS }, mobile.headers);
    expect(refused.status).toBe(403);
    expect(refused.body.data).toBeUndefined();
    expect(refused.body.errors).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'TRUSTED_DOCUMENT_REQUIRED' }), message: expect.stringMatching(/documentId/) }),
    ]);
    // Even a mutation is refused before it runs.
    const mutation = await post({ query: 'mutation { revokeApiToken(id: "x") { __typename } }' }, mobile.headers);
    expect(mutation.body.errors?.[0]?.extensions?.code).toBe('TRUSTED_DOCUMENT_REQUIRED');
  });

  it('runs registered documents by id: documentId, the persistedQuery extension, GET', async () => {
    const byId = await post({ documentId: idOf(JOB), variables: { id: jobId } }, mobile.headers);
    expect(byId.body).toEqual({ data: { job: { name: 'mobile job', status: 'RUNNING', deviceCount: 1 } } });
    const apq = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: idOf(PRODUCTS).slice('sha256:'.length) } } }, mobile.headers);
    expect(apq.body.data.products).toEqual([{ productKey: 'mobile-meter', name: 'Product mobile-meter' }]);
    const url = new URL(t.server.graphqlUrl);
    url.searchParams.set('documentId', idOf(PRODUCTS));
    const get = await fetch(url, { headers: { accept: 'application/json', ...mobile.headers } });
    expect(((await get.json()) as { data: unknown }).data).toEqual({ products: [{ productKey: 'mobile-meter', name: 'Product mobile-meter' }] });
    const unknown = await post({ documentId: idOf('query Other { me { user { id } } }') }, mobile.headers);
    expect(unknown.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('subscribes by id over graphql-ws and SSE, and is refused an ad-hoc subscription', async () => {
    const byId = subscribe({ url: t.server.wsUrl, query: '', documentId: idOf(PROGRESS), variables: { jobId }, connectionParams: mobile.headers });
    try {
      const first = await byId.next();
      expect(first).toMatchObject({ kind: 'next', data: { jobProgress: { name: 'mobile job', deviceCount: 1 } } });
    } finally {
      await byId.dispose();
    }
    const adHoc = subscribe({ url: t.server.wsUrl, query: PROGRESS, variables: { jobId }, connectionParams: mobile.headers });
    try {
      const refused = await adHoc.next();
      expect(refused.kind).toBe('error');
      expect((refused as unknown as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code).toBe('TRUSTED_DOCUMENT_REQUIRED');
    } finally {
      await adHoc.dispose();
    }
    const controller = new AbortController();
    const sse = await fetch(t.server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...mobile.headers },
      body: JSON.stringify({ documentId: idOf(PROGRESS), variables: { jobId } }),
      signal: controller.signal,
    });
    const reader = sse.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('"jobProgress"')) text += (await reader.read()).value ?? '';
    controller.abort();
    expect(text).toContain('"name":"mobile job"');
  });

  it('passes its restriction on to a dashboard session exchanged for it', async () => {
    const signIn = await fetch(t.server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `mutation($token: String!) { signIn(input: { token: $token }) { __typename } }`, variables: { token: mobile.token } }),
    });
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0];
    const adHoc = await post({ query: PRODUCTS }, { cookie });
    expect(adHoc.body.errors?.[0]?.extensions?.code).toBe('TRUSTED_DOCUMENT_REQUIRED');
    const byId = await post({ documentId: idOf(PRODUCTS) }, { cookie });
    expect(byId.body.data.products).toHaveLength(1);
  });
});

describe('other callers', () => {
  it('a token without the restriction still sends ad-hoc queries', async () => {
    const plain = await t.createUser({ permissions: ['DEVICE_READ'] });
    expect((await plain.gql(PRODUCTS)).data.products).toHaveLength(1);
  });

  it("another unit cannot run this unit's documents", async () => {
    const stranger = await t.createUser({ permissions: ['DEVICE_READ', 'OTA_READ'], ouName: 'Stranger unit' });
    const result = await post({ documentId: idOf(PRODUCTS) }, stranger.headers);
    expect(result.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('a removed document is refused at once', async () => {
    const removed = await t.gql(`mutation($id: String!) { removeTrustedDocument(documentId: $id) { __typename } }`, { id: idOf(JOB) });
    expect(removed.data.removeTrustedDocument.__typename).toBe('MutationRemoveTrustedDocumentSuccess');
    const result = await post({ documentId: idOf(JOB), variables: { id: jobId } }, mobile.headers);
    expect(result.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });
});
