/**
 * Document limits (docs/api.md, "Limits"): a document too long, with too many tokens, too deep,
 * too broad or with too many aliases is refused with a typed error before it is validated or run,
 * over HTTP, SSE and WebSocket alike, without credentials too; the server stays responsive.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { sseSubscribe } from '../support/sse.js';
import { subscribe } from '../support/subscriptions.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ engineEnabled: false });
});
afterAll(() => t?.close());

async function post(query: string, headers: Record<string, string> = {}) {
  const response = await fetch(t.server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: { message: string; extensions?: any }[] } };
}

/** `{ __typename __typename … }` with `n` fields, and a comment that defeats any parse cache. */
const typenames = (n: number) => `{ ${'__typename '.repeat(n)}} # ${Math.random()}`;

describe('document limits over HTTP', () => {
  it('the 23 MB probe (2.1 million tokens, no credentials) is refused by its length, unread', async () => {
    const { status, body } = await post(typenames(2_100_000));
    expect(status).toBe(413);
    expect(body.errors?.[0].extensions?.code).toBe('REQUEST_ENTITY_TOO_LARGE');
  });

  it('documents up to the body limit are refused before they are parsed; /healthz answers meanwhile', async () => {
    const started = performance.now();
    // 3.7 MB each: within the 4 MiB body limit, 37 times the document length limit.
    const answers = Promise.all([1, 2, 3, 4].map(() => post(typenames(340_000))));
    const health = await fetch(`${t.server.url}/healthz`);
    expect(health.status).toBe(200);
    for (const { status, body } of await answers) {
      expect(status).toBe(400);
      expect(body.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_LARGE', limit: 100_000 });
      expect(body.errors?.[0].message).toMatch(/too long: 3740\d+ characters exceed the limit of 100000/);
    }
    // Not a timing assertion: a hint in the log if the probe got slow (bench/ measures it).
    console.log(`4 × 3.7 MB hostile documents answered in ${Math.round(performance.now() - started)} ms`);
  });

  it('a document of more tokens than the limit is refused while it is parsed', async () => {
    // 10,001 tokens within 100,000 characters: `{` + 9,999 × `a` + `}`.
    const { status, body } = await post(`{${' a'.repeat(9_999)}}`, t.defaultHeaders());
    expect(status).toBe(400);
    expect(body.errors?.[0]).toMatchObject({ message: 'The document has more than 10000 tokens, the limit', extensions: { code: 'QUERY_TOO_LARGE' } });
    // 10,000 tokens are parsed (and then refused for their breadth, not their tokens).
    const atLimit = await post(`{${' a'.repeat(9_998)}}`, t.defaultHeaders());
    expect(atLimit.body.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('breadth, aliases and depth are checked before validation, fragments expanded', async () => {
    const broad = await post(typenames(501));
    expect(broad.status).toBe(400);
    expect(broad.body.errors?.[0]).toMatchObject({
      message: 'The query is too broad: breadth 501 exceeds the limit of 500',
      extensions: { code: 'QUERY_TOO_COMPLEX', breadth: 501, limit: 500 },
    });
    expect((await post(typenames(500))).status).toBe(200);

    // 3,000 fields of one response name: graphql's OverlappingFieldsCanBeMerged would compare each
    // pair (4.5 million comparisons); refused first for their number.
    const same = await post(`{ ${Array.from({ length: 3000 }, () => 'x: __typename').join(' ')} }`);
    expect(same.body.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', aliases: 3000, limit: 200 });

    const aliases = await post(`{ ${Array.from({ length: 201 }, (_, i) => `a${i}: __typename`).join(' ')} }`);
    expect(aliases.body.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', aliases: 201 });

    // Fragments spread into each other: 40 lines, 2^20 fields once expanded.
    const bomb = [
      'query { ...F0 }',
      ...Array.from({ length: 20 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`),
      'fragment F20 on Query { __typename }',
    ].join('\n');
    const bombed = await post(bomb);
    expect(bombed.body.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', breadth: 2 ** 20 });

    // An unknown field deeper than the limit: refused for its depth (validation never ran).
    const deep = await post(`{ ${'a { '.repeat(13)}b${' }'.repeat(13)} }`);
    expect(deep.body.errors?.[0]).toMatchObject({
      message: 'The query is too deep: depth 14 exceeds the limit of 12',
      extensions: { code: 'QUERY_TOO_COMPLEX' },
    });
  });
});

describe('document limits over SSE and WebSocket', () => {
  const deep = `subscription { ${'a { '.repeat(13)}b${' }'.repeat(13)} }`;

  it('SSE refuses a too long and a too deep document', async () => {
    for (const [query, code] of [
      [typenames(20_000), 'QUERY_TOO_LARGE'],
      [deep, 'QUERY_TOO_COMPLEX'],
    ] as const) {
      const stream = await sseSubscribe(t.server.graphqlUrl, query, {}, t.defaultHeaders());
      const event = await stream.next();
      stream.close();
      expect(event.errors?.[0].extensions?.code).toBe(code);
    }
  });

  it('graphql-ws refuses a too long, a too many tokens and a too deep document', async () => {
    for (const [query, code] of [
      [typenames(20_000), 'QUERY_TOO_LARGE'],
      [`subscription {${' a'.repeat(10_000)}}`, 'QUERY_TOO_LARGE'],
      [deep, 'QUERY_TOO_COMPLEX'],
    ] as const) {
      const subscription = subscribe({ url: t.server.wsUrl, query, connectionParams: t.connectionParams() });
      const event = await subscription.next();
      await subscription.dispose();
      expect(event.kind).toBe('error');
      expect(event.kind === 'error' && event.errors?.[0].extensions?.code).toBe(code);
    }
  });
});
