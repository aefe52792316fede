/**
 * /healthz and /readyz (docs/operations.md): liveness says only that the process serves; readiness
 * waits for start-up work (the demo data of `pnpm start`) and names each dependency, without error
 * text. The dependency-down cases are in the fault tests (redis.test.ts, postgres-away.test.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer } from '@updraft/server/app.js';
import { loadConfig } from '@updraft/server/config.js';
import { createTestDatabase, usingPostgres } from '../support/database.js';
import { FAST_ENGINE, freePort, processWorkspace, serverProcess } from '../engine/support.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
});

const getJson = async (url: string) => {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};

describe('readiness', () => {
  it('is 503 until the caller’s start-up work is done; names the database and the broker', async () => {
    const database = await createTestDatabase();
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'updraft-ready-'));
    const server = await startServer(
      loadConfig({}, { ...FAST_ENGINE, dataDir, firmwareDir: path.join(dataDir, 'fw'), host: '127.0.0.1', port: 0, seedDemo: false }),
      database.handle,
      { startupWork: ['demo data'] },
    );
    cleanup.push(async () => {
      await server.close();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    });

    expect(await getJson(`${server.url}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
    const before = await getJson(`${server.url}/readyz`);
    expect(before.status).toBe(503);
    expect(before.body).toMatchObject({ status: 'unavailable', starting: ['demo data'], dependencies: { database: 'ok', broker: 'ok' } });

    server.startupDone('demo data');
    const after = await getJson(`${server.url}/readyz`);
    expect(after).toEqual({ status: 200, body: { status: 'ready', starting: [], closing: false, dependencies: { database: 'ok', broker: 'ok' } } });
  });

  it.runIf(usingPostgres)('pnpm start: ready only once the demo jobs exist', { timeout: 120_000 }, async () => {
    const workspace = await processWorkspace();
    cleanup.push(() => workspace.close());
    const port = await freePort();
    const adminToken = `updraft_test_ready_${Date.now()}`;
    const child = serverProcess(
      { DATABASE_URL: workspace.databaseUrl, DATA_DIR: workspace.dataDir, SEED_DEMO: 'true', ADMIN_TOKEN: adminToken, MQTT_PORT: '0', MQTT_HOST: '127.0.0.1' },
      port,
    );
    cleanup.push(() => child.kill());
    // start() returns at the first 200 from /readyz: the demo's jobs must be there by then.
    await child.start();
    const response = await fetch(`${child.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ query: '{ jobs(first: 50) { totalCount } }' }),
    });
    const result = (await response.json()) as { data: { jobs: { totalCount: number } } };
    expect(result.data.jobs.totalCount).toBeGreaterThan(0);
  });
});
