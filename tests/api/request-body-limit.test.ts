/**
 * The request body limit (25 MB, yoga's default) holds whether the body announces its length or
 * comes chunked; bodies within it, chunked or not, are served.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REQUEST_BODY_BYTES } from '@updraft/server/app.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ engineEnabled: false });
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
