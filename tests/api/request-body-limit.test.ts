/**
 * The request body limit (8 MiB; firmware uploads have their own, docs/api.md) holds whether the body announces its length or
 * comes chunked; bodies within it, chunked or not, are served.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REQUEST_BODY_BYTES } from '@updraft/server/config.js';
import { seedProduct, uploadFirmwareRaw } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
beforeAll(async () => {
  // A firmware limit of 12 MiB keeps the test's uploads small; the default is 100 MiB.
  t = await startTestServer({ engineEnabled: false, maxFirmwareBytes: 12 * 1024 * 1024 });
  await seedProduct(t, 'meter', 0);
});
afterAll(() => t?.close());

/** POSTs `chunks` to /graphql, with a Content-Length or chunked; the status and body of the answer. */
function post(chunks: Buffer[], chunked: boolean): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const length = chunks.reduce((n, c) => n + c.length, 0);
    const request = http.request(
      t.server.graphqlUrl,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...t.defaultHeaders(),
          ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(length) }),
        },
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    // The server may answer and close before it has read everything.
    request.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)));
    for (const chunk of chunks) request.write(chunk);
    request.end();
  });
}

const query = Buffer.from(JSON.stringify({ query: '{ me { __typename } }' }));
/** A JSON body of `size` bytes: the query padded with an unused extension. */
function padded(size: number): Buffer[] {
  const head = Buffer.from('{"query":"{ __typename }","extensions":{"pad":"');
  const tail = Buffer.from('"}}');
  const pad = Buffer.alloc(size - head.length - tail.length, 'x');
  return [head, ...Array.from({ length: Math.ceil(pad.length / 1_000_000) }, (_, i) => pad.subarray(i * 1_000_000, (i + 1) * 1_000_000)), tail];
}

describe('the request body limit', () => {
  it('serves bodies within it, with a Content-Length or chunked', async () => {
    for (const chunked of [false, true]) {
      const answer = await post([query], chunked);
      expect(answer.status, `chunked: ${chunked}`).toBe(200);
      expect(JSON.parse(answer.body).data.me.__typename).toBeTruthy();
    }
    expect((await post(padded(2_000_000), true)).status).toBe(200);
  });

  it('refuses a longer body announced by its Content-Length', async () => {
    const answer = await post(padded(MAX_REQUEST_BODY_BYTES + 1), false);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).errors[0].extensions.code).toBe('REQUEST_ENTITY_TOO_LARGE');
  });

  it('refuses a longer chunked body', async () => {
    const answer = await post(padded(MAX_REQUEST_BODY_BYTES + 1), true);
    expect(answer.status).toBe(413);
    expect(answer.body).toContain('Request body too large');
  });
});

describe('firmware uploads (multipart) have the firmware limit', () => {
  it('a firmware larger than the JSON body limit is accepted up to MAX_FIRMWARE_BYTES', async () => {
    const content = Buffer.alloc(MAX_REQUEST_BODY_BYTES + 2 * 1024 * 1024, 7);
    const result = await uploadFirmwareRaw(t, { productKey: 'meter', name: 'Big', version: '9.0', signMethod: 'MD5', content });
    expect(result.data?.uploadFirmware).toMatchObject({ __typename: 'MutationUploadFirmwareSuccess', data: { size: content.length } });
  });

  it('a multipart body over the firmware limit and its overhead is refused with 413', async () => {
    const content = Buffer.alloc(12 * 1024 * 1024 + 1024 * 1024 + 1, 7);
    const result = await uploadFirmwareRaw(t, { productKey: 'meter', name: 'Huge', version: '9.1', signMethod: 'MD5', content });
    expect(result.errors?.[0].extensions?.code).toBe('REQUEST_ENTITY_TOO_LARGE');
  });
});
