/**
 * Browser requests that another site could make with the session cookie are refused: simple
 * (non-preflighted) requests need the `x-graphql-yoga-csrf` header or an Authorization header, and
 * CORS never lets another origin read an answer to a request that carried cookies. GraphiQL and
 * the dashboard's multipart uploads keep working.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createProduct } from '../support/fixtures.js';
import { bearer, startTestServer, type TestServer } from '../support/server.js';
import { cookieHeader, signIn } from './browser.js';

let t: TestServer;
let session: string;

beforeAll(async () => {
  t = await startTestServer();
  session = (await signIn(t.server.graphqlUrl, { token: t.adminToken })).session!;
  await createProduct(t, 'csrf-meter');
});
afterAll(async () => {
  await t?.close();
});

const roleNamed = async (name: string) => ((await t.gql('{ roles { name } }')).data.roles as { name: string }[]).some((role) => role.name === name);

const createRole = (name: string) => `mutation { createRole(input: { name: "${name}", permissions: [OTA_READ] }) { __typename } }`;

it('refuses a cross-site form POST carrying the session cookie, and changes nothing', async () => {
  const response = await fetch(t.server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example', ...cookieHeader(session) },
    body: new URLSearchParams({ query: createRole('forged-by-form') }).toString(),
  });
  expect(response.status).toBe(403);
  expect((await response.json()).errors[0].message).toBe('Required CSRF header(s) not present');
  expect(await roleNamed('forged-by-form')).toBe(false);
});

it('refuses a text/plain POST (a form with enctype="text/plain" carrying JSON)', async () => {
  const response = await fetch(t.server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', ...cookieHeader(session) },
    body: JSON.stringify({ query: createRole('forged-as-text') }),
  });
  expect(response.status).toBe(403);
  expect(await roleNamed('forged-as-text')).toBe(false);
});

it('refuses a GET without the header (an <img> or link), answers it with the header', async () => {
  const url = `${t.server.graphqlUrl}?query=${encodeURIComponent('{ me { user { username } } }')}`;
  expect((await fetch(url, { headers: cookieHeader(session) })).status).toBe(403);
  const allowed = await fetch(url, { headers: { ...cookieHeader(session), 'x-graphql-yoga-csrf': '1' } });
  expect(await allowed.json()).toEqual({ data: { me: { user: { username: 'admin' } } } });
});

it('lets the dashboard upload firmware (multipart) with its cookie and the CSRF header, and not without it', async () => {
  const upload = (headers: Record<string, string>, version: string) => {
    const form = new FormData();
    form.append(
      'operations',
      JSON.stringify({
        query: `mutation($input: UploadFirmwareInput!) { uploadFirmware(input: $input) { __typename } }`,
        variables: { input: { productKey: 'csrf-meter', name: `Firmware ${version}`, version, file: null } },
      }),
    );
    form.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
    form.append('0', new Blob([new Uint8Array(1024)]), 'firmware.bin');
    return fetch(t.server.graphqlUrl, { method: 'POST', body: form, headers });
  };
  expect((await upload(cookieHeader(session), '1.0.1')).status).toBe(403);
  const withHeader = await upload({ ...cookieHeader(session), 'x-graphql-yoga-csrf': '1' }, '1.0.2');
  expect(await withHeader.json()).toEqual({ data: { uploadFirmware: { __typename: 'MutationUploadFirmwareSuccess' } } });
  // An API client's Authorization header is proof enough: no form can send one.
  const withToken = await upload(bearer(t.adminToken), '1.0.3');
  expect(await withToken.json()).toEqual({ data: { uploadFirmware: { __typename: 'MutationUploadFirmwareSuccess' } } });
});

it('never lets another origin read an answer to a request with cookies', async () => {
  const preflight = await fetch(t.server.graphqlUrl, {
    method: 'OPTIONS',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
  expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();

  const answer = await fetch(t.server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: 'https://evil.example', ...cookieHeader(session) },
    body: JSON.stringify({ query: '{ me { user { username } } }' }),
  });
  expect(answer.headers.get('access-control-allow-credentials')).toBeNull();

  // A browser app of another origin with its own API token may read its answers.
  const withToken = await fetch(t.server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: 'https://integration.example', ...bearer(t.adminToken) },
    body: JSON.stringify({ query: '{ me { user { username } } }' }),
  });
  expect(withToken.headers.get('access-control-allow-origin')).toBe('https://integration.example');
  expect(await withToken.json()).toEqual({ data: { me: { user: { username: 'admin' } } } });
});

it('still serves GraphiQL', async () => {
  const response = await fetch(t.server.graphqlUrl, { headers: { accept: 'text/html' } });
  expect(response.status).toBe(200);
  expect(await response.text()).toContain('Updraft GraphQL');
});
