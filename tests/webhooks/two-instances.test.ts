/**
 * Two instances on one PostgreSQL database, both dispatching: changes made through either are
 * delivered once each (duplicates counted: none in the normal case), in order per job, and both
 * instances share the sending.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '@updraft/server/app.js';
import { loadConfig } from '@updraft/server/config.js';
import { openDatabase } from '@updraft/server/db/client.js';
import { afterAll, describe, expect, it } from 'vitest';
import { usingPostgres } from '../support/database.js';
import { createProduct, createUpgradeJob, expectSuccess, registerDevices, uploadFirmware } from '../support/fixtures.js';
import { bearer, startTestServer, type TestServer } from '../support/server.js';
import { eventually, startWebhookReceiver } from '../support/webhook-receiver.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
});

const FAST = { webhookAllowedTargets: ['127.0.0.1'], webhookPollMs: 50, webhookProgressIntervalMs: 60_000 };

describe.runIf(usingPostgres)('two instances dispatching', () => {
  it('deliver each event once, in order per job, sharing the work', { timeout: 120_000 }, async () => {
    const a: TestServer = await startTestServer({ ...FAST, engineEnabled: false });
    cleanup.push(() => a.close());
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'updraft-hooks-b-'));
    const handle = await openDatabase({ databaseUrl: a.database.url, pgliteDir: 'unused' });
    const b: RunningServer = await startServer(
      loadConfig(
        {},
        {
          ...FAST,
          dataDir,
          firmwareDir: a.server.services.config.firmwareDir,
          host: '127.0.0.1',
          port: 0,
          seedDemo: false,
          adminToken: a.adminToken,
          engineEnabled: false,
        },
      ),
      handle,
    );
    cleanup.push(async () => {
      await b.close();
      await handle.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    const receiver = await startWebhookReceiver();
    cleanup.push(() => receiver.close());
    receiver.delayMs = 5;
    const created = await a.gql(
      `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { __typename ... on MutationCreateWebhookEndpointSuccess { data { secret } } } }`,
      { input: { name: 'shared', url: receiver.url, eventTypes: ['job.created', 'job.status_changed'] } },
    );
    receiver.secrets.push(expectSuccess<{ secret: string }>(created, 'createWebhookEndpoint').secret);
    await createProduct(a, 'two-hooks');
    await registerDevices(a, 'two-hooks', [{ deviceKey: 'th-1', firmwareVersion: '1' }]);
    const firmware = await uploadFirmware(a, { productKey: 'two-hooks', name: 'th', version: '2' });
    const jobs: string[] = [];
    for (let i = 0; i < 8; i++) jobs.push(await createUpgradeJob(a, { firmwareId: firmware.id, name: `two instances ${i}`, scope: { allDevices: true } }));

    // Each job stopped and started 10 times, alternately through A and B, jobs in parallel.
    const viaB = async (query: string, variables: Record<string, unknown>) =>
      (
        await fetch(b.graphqlUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...bearer(a.adminToken) },
          body: JSON.stringify({ query, variables }),
        })
      ).json() as Promise<{ data: Record<string, { __typename: string }> }>;
    await Promise.all(
      jobs.map(async (job, j) => {
        for (let n = 0; n < 20; n++) {
          const action = n % 2 === 0 ? 'stopJob' : 'startJob';
          const query = `mutation($id: ID!) { ${action}(id: $id) { __typename } }`;
          const answer = (n + j) % 2 === 0 ? await a.gql(query, { id: job }) : await viaB(query, { id: job });
          expect(answer.data[action].__typename).toMatch(/Success$/);
        }
      }),
    );
    const expected = jobs.length * 21;
    await eventually(() => new Set(receiver.received.map((r) => r.id)).size >= expected, 'every event', 60_000);
    await new Promise((resolve) => setTimeout(resolve, 500));

    const ids = receiver.received.map((r) => r.id);
    const duplicates = ids.length - new Set(ids).size;
    const shares = [a.server.webhooks.dispatcher.stats.succeeded, b.webhooks.dispatcher.stats.succeeded];
    console.log(
      `webhooks, two instances: ${new Set(ids).size} events, ${ids.length} deliveries received, ${duplicates} duplicates; sent by A ${shares[0]}, by B ${shares[1]}`,
    );
    expect(new Set(ids).size).toBe(expected);
    expect(duplicates).toBe(0);
    expect(receiver.received.every((r) => r.verifiedWith.length === 1)).toBe(true);
    expect(shares[0]).toBeGreaterThan(0);
    expect(shares[1]).toBeGreaterThan(0);
    for (const job of jobs) {
      const changes = receiver.received
        .filter((r) => r.payload.data.job.id === job && r.payload.type === 'job.status_changed')
        .map((r) => r.payload.data.change);
      expect(changes).toEqual(Array.from({ length: 20 }, (_, n) => (n % 2 === 0 ? 'STOPPED' : 'RESUMED')));
    }
  });
});
