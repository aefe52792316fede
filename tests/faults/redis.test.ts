/**
 * Redis killed mid-rollout (docs/operations.md, Redis). Two instances share PostgreSQL and a
 * private Redis: A runs the gateway (embedded broker) and the engine, B serves the API only. Each
 * has a jobDeviceUpdates (SSE) and a jobProgress (graphql-ws) subscriber; their safety polls are off
 * (10 minutes), so what they learn comes from events or from the catch-up after Redis returns.
 *
 * While Redis is away: neither process throws (vitest fails the run on an unhandled rejection),
 * device reports keep being written and answered, A's subscribers follow A's changes to the end of
 * the job, a mutation on B works and B's own subscriber sees it, /readyz says `degraded`. Redis back:
 * B's subscribers catch up with everything A did meanwhile, from the database, within the bound.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '@updraft/server/app.js';
import { loadConfig } from '@updraft/server/config.js';
import { openDatabase } from '@updraft/server/db/client.js';
import { startFleet } from '@updraft/server/simulator/index.js';
import { usingPostgres } from '../support/database.js';
import { startPrivateRedis } from '../support/private-services.js';
import { bearer } from '../support/server.js';
import { sseSubscribe } from '../support/sse.js';
import { subscribe } from '../support/subscriptions.js';
import { countByStatus, jobStatus, mqttUrlOf, setUpFleet, startEngineServer, tasksOf, uniqueProductKey, upgradeJob, waitFor } from '../engine/support.js';

const DEVICES = 120;
/** Redis back → B's subscribers agree with the database within this long (reconnect backoff ≤ 2 s, then one read). */
const CATCH_UP_BOUND_MS = 10_000;

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
});

interface Follower {
  /** deviceKey → status, as this subscriber last heard it. */
  view: Map<string, string>;
  /** When each batch arrived. */
  arrivals: number[];
  progress: { status: string; maxConcurrency: number; at: number }[];
}

async function follow(graphqlUrl: string, wsUrl: string, token: string, jobId: string): Promise<Follower & { close(): Promise<void> }> {
  const id = encodeGlobalID('OtaJob', jobId);
  const follower: Follower = { view: new Map(), arrivals: [], progress: [] };
  const updates = await sseSubscribe(
    graphqlUrl,
    `subscription($id: ID!) { jobDeviceUpdates(jobId: $id) { cursor devices { deviceKey status } } }`,
    { id },
    bearer(token),
  );
  let open = true;
  const reading = (async () => {
    while (open) {
      const event = await updates.next(600_000).catch(() => null);
      if (!event?.data) continue;
      follower.arrivals.push(Date.now());
      for (const d of event.data.jobDeviceUpdates.devices) follower.view.set(d.deviceKey, d.status);
    }
  })();
  const progress = subscribe({
    url: wsUrl,
    query: `subscription($id: ID!) { jobProgress(jobId: $id) { status maxConcurrency } }`,
    variables: { id },
    connectionParams: bearer(token),
  });
  const progressing = (async () => {
    while (open) {
      const event = await progress.next(600_000).catch(() => null);
      if (event?.kind === 'next') follower.progress.push({ ...event.data.jobProgress, at: Date.now() });
      else if (event) return;
    }
  })();
  return Object.assign(follower, {
    async close() {
      open = false;
      updates.close();
      await progress.dispose();
      await Promise.race([Promise.all([reading, progressing]), new Promise((r) => setTimeout(r, 1000))]);
    },
  });
}

const readyz = async (url: string) => (await (await fetch(`${url}/readyz`)).json()) as { status: string; dependencies: Record<string, string> };

describe.runIf(usingPostgres)('Redis killed mid-rollout', () => {
  it('neither instance stops; each follows its own changes; B catches up once Redis is back', { timeout: 180_000 }, async () => {
    const redis = await startPrivateRedis();
    cleanup.push(() => redis.kill());
    const live = { redisUrl: redis.url, liveSafetyPollMs: 600_000, jobProgressIntervalMs: 100, jobDeviceUpdatesIntervalMs: 50 };
    const a = await startEngineServer(live);
    cleanup.push(() => a.close());
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'updraft-redis-b-'));
    const handle = await openDatabase({ databaseUrl: a.database.url, pgliteDir: 'unused' });
    const b: RunningServer = await startServer(
      loadConfig(
        {},
        {
          ...live,
          dataDir,
          firmwareDir: a.server.services.config.firmwareDir,
          host: '127.0.0.1',
          port: 0,
          seedDemo: false,
          adminToken: a.adminToken,
          engineEnabled: false,
          webhooksEnabled: false,
        },
      ),
      handle,
    );
    cleanup.push(async () => {
      await b.close();
      await handle.close();
      await rm(dataDir, { recursive: true, force: true });
    });
    expect((await readyz(b.url)).dependencies.redis).toBe('ok');

    const setup = await setUpFleet(a.server.services, { productKey: uniqueProductKey('redis'), count: DEVICES });
    const fleet = await startFleet({
      devices: setup.devices,
      mqttUrl: mqttUrlOf(a),
      upgradeSeconds: 1,
      rebootSeconds: 0.2,
      progressReports: 3,
      behaviour: 'writeFail=0.05',
      seed: 12,
    });
    cleanup.push(() => fleet.stop());
    await fleet.whenConnected(60_000);

    const job = await upgradeJob(a.server.services, setup, { scope: { allDevices: true }, maxConcurrency: 30 });
    const onA = await follow(a.server.graphqlUrl, a.server.wsUrl, a.adminToken, job.id);
    const onB = await follow(b.graphqlUrl, b.wsUrl, a.adminToken, job.id);
    cleanup.push(() => Promise.all([onA.close(), onB.close()]));

    // Mid-rollout: some done, most not.
    await waitFor(async () => ((await countByStatus(a.server.services, job.id)).SUCCEEDED ?? 0) >= 15, { what: '15 devices upgraded', timeoutMs: 90_000 });
    await waitFor(() => onB.view.size > 0, { what: 'B following the job' });
    const writtenBefore = await a.server.services.metrics.value('updraft_reports_written_total');
    await redis.kill();
    const killedAt = Date.now();

    // Redis away. A mutation on B works, and B's own subscriber sees it.
    const edit = await fetch(b.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(a.adminToken) },
      body: JSON.stringify({
        query: `mutation($input: EditJobInput!) { editJob(input: $input) { __typename ... on MutationEditJobSuccess { data { changedFields } } } }`,
        variables: { input: { jobId: encodeGlobalID('OtaJob', job.id), maxConcurrency: 40 } },
      }),
    });
    expect(((await edit.json()) as any).data.editJob.__typename).toBe('MutationEditJobSuccess');
    await waitFor(() => onB.progress.some((p) => p.maxConcurrency === 40 && p.at > killedAt), { what: 'B’s subscriber to see B’s edit', timeoutMs: 10_000 });
    expect((await readyz(b.url)).status).toBe('degraded');
    expect((await readyz(a.server.url)).dependencies).toEqual({ database: 'ok', broker: 'ok', redis: 'down' });

    // The rollout finishes with Redis still away: reports are written and answered, A's
    // subscribers follow A's changes to the end.
    await waitFor(async () => (await jobStatus(a.server.services, job.id)).status === 'FINISHED', {
      what: 'the job to finish while Redis is away',
      timeoutMs: 120_000,
      describe: () => countByStatus(a.server.services, job.id),
    });
    const finishedAt = Date.now();
    const tasks = await tasksOf(a.server.services, job.id);
    const truth = Object.fromEntries([...tasks].map(([key, t]) => [key, t.status]));
    await waitFor(() => onA.progress.at(-1)?.status === 'FINISHED', { what: 'A’s jobProgress to say FINISHED', timeoutMs: 10_000 });
    await waitFor(() => JSON.stringify(Object.fromEntries([...onA.view].sort())) === JSON.stringify(truth), {
      what: 'A’s jobDeviceUpdates to agree with the database',
      timeoutMs: 10_000,
    });
    expect(onA.arrivals.filter((at) => at > killedAt).length).toBeGreaterThan(0);
    // B heard nothing of A's changes since the kill: no event, no poll.
    expect(onB.progress.at(-1)?.status).toBe('RUNNING');
    expect(Object.fromEntries([...onB.view].sort())).not.toEqual(truth);

    // Devices agree with their tasks: every upgraded device's report was written.
    const disagreements = setup.devices.filter((d) => (fleet.device(d.deviceKey)!.version === '2.0.0') !== (tasks.get(d.deviceKey)!.status === 'SUCCEEDED'));
    expect(disagreements.map((d) => d.deviceKey)).toEqual([]);
    expect(Object.values(truth).filter((s) => s === 'SUCCEEDED').length).toBe(fleet.stats.succeeded);
    const writtenDuringOutage = (await a.server.services.metrics.value('updraft_reports_written_total')) - writtenBefore;
    expect(writtenDuringOutage).toBeGreaterThan(0);

    // Redis back: B catches up from the database.
    await redis.start();
    const backAt = Date.now();
    await waitFor(() => onB.progress.at(-1)?.status === 'FINISHED' && JSON.stringify(Object.fromEntries([...onB.view].sort())) === JSON.stringify(truth), {
      what: 'B’s subscribers to catch up',
      timeoutMs: CATCH_UP_BOUND_MS,
      describe: () => ({ progress: onB.progress.at(-1), seen: onB.view.size }),
    });
    const caughtUpMs = Date.now() - backAt;
    await waitFor(async () => (await readyz(b.url)).status === 'ready' && (await readyz(a.server.url)).status === 'ready', {
      what: 'both ready again',
      timeoutMs: CATCH_UP_BOUND_MS,
    });

    console.log(
      `[measure] redis killed mid-rollout (${DEVICES} devices): away ${((backAt - killedAt) / 1000).toFixed(1)} s, job finished ${((finishedAt - killedAt) / 1000).toFixed(1)} s after the kill; ` +
        `${writtenDuringOutage} reports written while away; device messages sent ${fleet.stats.messagesSent}, reports written ${await a.server.services.metrics.value('updraft_reports_written_total')}; ` +
        `B caught up ${caughtUpMs} ms after Redis returned; final ${JSON.stringify(await countByStatus(a.server.services, job.id))}, fleet succeeded ${fleet.stats.succeeded}`,
    );
  });
});
