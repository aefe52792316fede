/**
 * Query cost (docs/api.md, "Query cost"): lists multiply by their page size, nested lists
 * multiply, and an operation over MAX_QUERY_COMPLEXITY is refused before it runs with its cost and
 * the limit; every document the dashboard sends stays well under the limit at the largest page
 * sizes it offers.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@updraft/server/config.js';
import { operationCost } from '@updraft/server/documents/cost.js';
import { schema } from '@updraft/server/schema/index.js';
import { type DocumentNode, Kind, parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpgradeJob, seedProduct, uploadFirmware } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { sseSubscribe } from '../support/sse.js';
import { subscribe } from '../support/subscriptions.js';

const LIMIT = loadConfig({}).maxQueryComplexity;
const webSrc = fileURLToPath(new URL('../../web/src', import.meta.url));

/** Every `graphql(\`…\`)` text of the dashboard's sources. */
function dashboardTexts(dir = webSrc): string[] {
  const texts: string[] = [];
  for (const entry of readdirSync(dir)) {
    const file = path.join(dir, entry);
    if (statSync(file).isDirectory()) texts.push(...dashboardTexts(file));
    else if (/\.tsx?$/.test(entry)) {
      for (const match of readFileSync(file, 'utf8').matchAll(/graphql\(\s*`([^`]*)`/g)) texts.push(match[1]);
    }
  }
  return texts;
}

/** Each operation of the dashboard with the fragments it spreads, transitively. */
function dashboardOperations(): { name: string; document: DocumentNode }[] {
  const definitions = dashboardTexts().flatMap((text) => parse(text).definitions);
  const fragments = new Map(definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
  return definitions.flatMap((operation) => {
    if (operation.kind !== Kind.OPERATION_DEFINITION) return [];
    const needed = new Set<string>();
    const visit = (text: string) => {
      for (const [, name] of text.matchAll(/\.\.\.\s*([A-Za-z_]\w*)/g)) {
        if (name === 'on' || needed.has(name) || !fragments.has(name)) continue;
        needed.add(name);
        visit(fragments.get(name)!.loc!.source.body.slice(fragments.get(name)!.loc!.start, fragments.get(name)!.loc!.end));
      }
    };
    visit(operation.loc!.source.body.slice(operation.loc!.start, operation.loc!.end));
    return [
      {
        name: operation.name?.value ?? '(anonymous)',
        document: { kind: Kind.DOCUMENT, definitions: [operation, ...[...needed].map((n) => fragments.get(n)!)] },
      },
    ];
  });
}

describe('the cost model', () => {
  const cost = (query: string, variables: Record<string, unknown> = {}) => operationCost(schema, parse(query), undefined, variables);

  it('multiplies a connection by its page size, nested ones by each other', () => {
    expect(cost('{ jobs(first: 100) { nodes { id devices(first: 100) { nodes { deviceKey } } } } }')).toBe(1 + 100 * (1 + 1 + (1 + 100 * (1 + 1))));
    // Variables count as given; no page size counts as 50; totalCount and pageInfo are not multiplied.
    expect(cost('query($n: Int) { jobs(first: $n) { totalCount pageInfo { hasNextPage } nodes { id } } }', { n: 7 })).toBe(1 + 1 + 2 + 7 * 2);
    expect(cost('{ jobs { nodes { id } } }')).toBe(1 + 50 * 2);
    expect(cost('{ jobs(last: 3) { edges { node { id } } } }')).toBe(1 + 3 * (1 + 2));
    // nodes(ids:) by its IDs; a plain list by 10.
    expect(cost('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: ['a', 'b', 'c'] })).toBe(3 * 2);
    expect(cost('{ products { id productKey } }')).toBe(10 * 3);
    // Fragments count where they are spread.
    expect(cost('{ jobs(first: 2) { nodes { ...J } } a: jobs(first: 4) { nodes { ...J } } } fragment J on OtaJob { id name }')).toBe(1 + 2 * 3 + 1 + 4 * 3);
  });

  it('every dashboard document costs at most half the limit at the largest page sizes it offers (500)', () => {
    const operations = dashboardOperations();
    expect(operations.length).toBeGreaterThan(20);
    const costs = operations.map(({ name, document }) => {
      expect(validate(schema, document), name).toEqual([]);
      const operation = document.definitions[0];
      const variables = Object.fromEntries(
        (operation.kind === Kind.OPERATION_DEFINITION ? (operation.variableDefinitions ?? []) : []).map((v) => [
          v.variable.name.value,
          ['first', 'last'].includes(v.variable.name.value) ? 500 : null,
        ]),
      );
      return { name, cost: operationCost(schema, document, name, variables) };
    });
    const over = costs.filter((c) => c.cost > LIMIT / 2);
    expect(over, JSON.stringify(costs.sort((a, b) => b.cost - a.cost).slice(0, 5))).toEqual([]);
  });
});

describe('over the limit', () => {
  let t: TestServer;
  let jobId: string;
  beforeAll(async () => {
    t = await startTestServer({ engineEnabled: false });
    await seedProduct(t, 'meter', 2);
    const firmwareId = (await uploadFirmware(t, { productKey: 'meter', name: 'Two', version: '2.0' })).id;
    jobId = await createUpgradeJob(t, { firmwareId, scope: { allDevices: true } });
  });
  afterAll(() => t?.close());

  const probe = '{ jobs(first: 500) { nodes { devices(first: 500) { nodes { job { devices(first: 500) { nodes { deviceKey } } } } } } } }';
  // jobs: 1 + 500 × (nodes 1 + devices (1 + 500 × (nodes 1 + job (1 + devices (1 + 500 × (nodes 1 + deviceKey 1)))))).
  const PROBE_COST = 1 + 500 * (1 + 1 + 500 * (1 + 1 + 1 + 500 * 2));

  it("the issue's probe is refused before it runs, with its cost and the limit, for a read-only token too", async () => {
    const reader = await t.createUser({ permissions: ['OTA_READ'] });
    const answer = await reader.gql(probe);
    expect(answer.data ?? null).toBeNull();
    expect(answer.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', cost: PROBE_COST, limit: LIMIT });
    expect(answer.errors?.[0].message).toMatch(new RegExp(`could return ${PROBE_COST} values, more than the limit of ${LIMIT}`));
  });

  it('counts variables: the same document is served with small pages and refused with large ones', async () => {
    const query = 'query($id: ID!, $n: Int) { job(id: $id) { devices(first: $n) { nodes { deviceKey job { devices(first: $n) { nodes { deviceKey } } } } } } }';
    expect((await t.gql(query, { id: jobId, n: 5 })).data.job.devices.nodes).toHaveLength(2);
    expect((await t.gql(query, { id: jobId, n: 500 })).errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('refuses an expensive subscription over SSE and graphql-ws', async () => {
    const query =
      'subscription($id: ID!) { jobProgress(jobId: $id) { devices(first: 500) { nodes { job { devices(first: 500) { nodes { deviceKey } } } } } } }';
    const stream = await sseSubscribe(t.server.graphqlUrl, query, { id: jobId }, t.defaultHeaders());
    const sseEvent = await stream.next();
    stream.close();
    expect(sseEvent.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: LIMIT });
    const ws = subscribe({ url: t.server.wsUrl, query, variables: { id: jobId }, connectionParams: t.connectionParams() });
    const wsEvent = await ws.next();
    await ws.dispose();
    expect(wsEvent.kind !== 'complete' && wsEvent.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: LIMIT });
  });
});
