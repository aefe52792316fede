/**
 * API rate limits (docs/security.md, "API rate limits"): per credential, and per address without
 * valid credentials; over the allowance HTTP answers 429 with Retry-After and RATE_LIMITED
 * { retryAfterSeconds }, graphql-ws operations the same error; another credential is unaffected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { subscribe } from '../support/subscriptions.js';

let t: TestServer;
// 20 a minute: buckets of 5, one more every 3 s (the test sends its 7 well within that).
beforeAll(async () => {
  t = await startTestServer({ engineEnabled: false, apiRateLimitPerMinute: 20, apiAnonymousRateLimitPerMinute: 20 });
});
afterAll(() => t?.close());

async function post(headers: Record<string, string>) {
  const response = await fetch(t.server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query: '{ me { user { id } } }' }),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as any };
}

describe('API rate limits', () => {
  it('a credential gets its burst, then 429 with Retry-After; another credential is unaffected', async () => {
    const a = await t.createUser({ permissions: ['OTA_READ'] });
    const b = await t.createUser({ permissions: ['OTA_READ'] });
    const answers = [];
    for (let i = 0; i < 7; i++) answers.push(await post(a.headers));
    expect(answers.slice(0, 5).map((r) => r.status)).toEqual(Array(5).fill(200));
    const refused = answers.at(-1)!;
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(refused.body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: Number(refused.retryAfter) });
    expect(refused.body.data ?? null).toBeNull();
    expect((await post(b.headers)).status).toBe(200);
  });

  it('requests without credentials are counted per address', async () => {
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await post({})).status);
    expect(statuses.slice(0, 5)).toEqual(Array(5).fill(200));
    expect(statuses.at(-1)).toBe(429);
    // A valid credential from the same address has its own allowance.
    expect((await post(t.defaultHeaders())).status).toBe(200);
  });

  it('graphql-ws operations count against the credential too', async () => {
    const c = await t.createUser({ permissions: ['OTA_READ'] });
    for (let i = 0; i < 5; i++) expect((await post(c.headers)).status).toBe(200);
    const ws = subscribe({ url: t.server.wsUrl, query: '{ __typename }', connectionParams: { authorization: `Bearer ${c.token}` } });
    const event = await ws.next();
    await ws.dispose();
    expect(event.kind !== 'complete' && event.errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED' });
  });
});
