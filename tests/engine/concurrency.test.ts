/**
 * The concurrency caps under load, sampled continuously while 500 devices upgrade: a job never has
 * more than maxConcurrency devices Pushed + In Progress, and the organisation unit never more than
 * its cap across its jobs — with one server instance, and with two instances sharing one
 * PostgreSQL database and one Mosquitto (which also must not push any task twice).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '@updraft/server/app.js';
import { loadConfig } from '@updraft/server/config.js';
import { openDatabase } from '@updraft/server/db/client.js';
import { queryRows } from '@updraft/server/db/sql.js';
import type { AppServices } from '@updraft/server/services.js';
import { startFleet, type Fleet } from '@updraft/server/simulator/index.js';
import { usingPostgres } from '../support/database.js';
import type { TestServer } from '../support/server.js';
import {
  allFinal,
  countByStatus,
  externalMqttUrl,
  FAST_ENGINE,
  mqttUrlOf,
  setUpFleet,
  startEngineServer,
  uniqueProductKey,
  upgradeJob,
  waitFor,
} from './support.js';

const DEVICES = 500;

interface Sample {
  jobs: Map<string, number>;
  ou: number;
}

/** Samples in-flight counts until stopped; returns the highest seen per job and for the unit. */
function sampleInFlight(services: AppServices, jobIds: string[]) {
  const highest: Sample = { jobs: new Map(jobIds.map((id) => [id, 0])), ou: 0 };
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const rows = await queryRows<{ job_id: string; n: number | string }>(
        services.db,
        sql`select job_id, count(*) as n from job_tasks where status in ('PUSHED', 'IN_PROGRESS') group by job_id`,
      );
      let total = 0;
      for (const r of rows) {
        total += Number(r.n);
        if (highest.jobs.has(r.job_id)) highest.jobs.set(r.job_id, Math.max(highest.jobs.get(r.job_id)!, Number(r.n)));
      }
      highest.ou = Math.max(highest.ou, total);
      samples++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { ...highest, samples };
    },
  };
}

async function metric(server: RunningServer, name: string): Promise<number> {
  return server.services.metrics.value(name);
}

describe('concurrency caps while 500 devices upgrade', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('one instance: the job caps and the unit cap hold, and are reached', { timeout: 300_000 }, async () => {
    const ts: TestServer = await startEngineServer();
    cleanup.push(() => ts.close());
    const services = ts.server.services;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('cap1'), count: DEVICES });
    await services.db.execute(sql`update organisation_units set concurrency_cap = 60 where id = ${setup.caller.ouId}`);
    const fleet: Fleet = await startFleet({
      devices: setup.devices,
      mqttUrl: mqttUrlOf(ts),
      upgradeSeconds: 1,
      rebootSeconds: 0.2,
      progressReports: 4,
      connectTimeoutMs: 120_000,
    });
    cleanup.push(() => fleet.stop());
    const keys = setup.devices.map((d) => d.deviceKey);
    const started = Date.now();
    const a = await upgradeJob(services, setup, { name: 'A', scope: { deviceKeys: keys.slice(0, DEVICES / 2) }, maxConcurrency: 40 });
    const b = await upgradeJob(services, setup, { name: 'B', scope: { deviceKeys: keys.slice(DEVICES / 2) }, maxConcurrency: 40 });
    const sampler = sampleInFlight(services, [a.id, b.id]);
    for (const job of [a, b]) {
      await waitFor(async () => allFinal(await countByStatus(services, job.id)), { what: `job ${job.name} final`, timeoutMs: 180_000 });
    }
    const seconds = (Date.now() - started) / 1000;
    const highest = await sampler.stop();
    expect(highest.samples).toBeGreaterThan(20);
    expect(highest.jobs.get(a.id)).toBeLessThanOrEqual(40);
    expect(highest.jobs.get(b.id)).toBeLessThanOrEqual(40);
    expect(highest.ou).toBeLessThanOrEqual(60);
    expect(highest.ou).toBeGreaterThanOrEqual(50); // the engine does fill the room it has
    expect((await countByStatus(services, a.id)).SUCCEEDED).toBe(DEVICES / 2);
    expect((await countByStatus(services, b.id)).SUCCEEDED).toBe(DEVICES / 2);
    const pushed = await metric(ts.server, 'updraft_engine_pushes_total');
    const reports = await metric(ts.server, 'updraft_reports_written_total');
    console.log(
      `[measure] one instance (${services.database.kind}, embedded broker): ${DEVICES} devices in ${seconds.toFixed(1)} s, ` +
        `${Math.round((pushed / seconds) * 60)} devices pushed per minute at a unit cap of 60, ` +
        `${Math.round(reports / seconds)} reports written per second, highest in flight ${highest.ou}`,
    );
  });

  it.runIf(usingPostgres && externalMqttUrl)(
    'two instances on one database and one Mosquitto: caps hold, no task is pushed twice, every task ends',
    { timeout: 300_000 },
    async () => {
      const group = uniqueProductKey('share');
      const overrides = { mqttUrl: externalMqttUrl, mqttShareGroup: group, repushAfterMs: 600_000 };
      const first: TestServer = await startEngineServer(overrides);
      cleanup.push(() => first.close());
      const dataDir = await mkdtemp(path.join(os.tmpdir(), 'updraft-second-'));
      const handle = await openDatabase({ databaseUrl: first.database.url, pgliteDir: 'unused' });
      const second = await startServer(
        loadConfig(
          {},
          { dataDir, firmwareDir: first.server.services.config.firmwareDir, host: '127.0.0.1', port: 0, seedDemo: false, ...FAST_ENGINE, ...overrides },
        ),
        handle,
      );
      cleanup.push(async () => {
        await second.close();
        await handle.close();
        await rm(dataDir, { recursive: true, force: true });
      });
      const services = first.server.services;
      const setup = await setUpFleet(services, { productKey: uniqueProductKey('cap2'), count: DEVICES });
      const fleet = await startFleet({
        devices: setup.devices,
        mqttUrl: externalMqttUrl!,
        upgradeSeconds: 1,
        rebootSeconds: 0.2,
        progressReports: 4,
        connectTimeoutMs: 120_000,
      });
      cleanup.push(() => fleet.stop());
      const started = Date.now();
      const job = await upgradeJob(services, setup, { scope: { allDevices: true }, maxConcurrency: 50 });
      const sampler = sampleInFlight(services, [job.id]);
      await waitFor(async () => allFinal(await countByStatus(services, job.id)), {
        what: 'all final',
        timeoutMs: 240_000,
        describe: () => countByStatus(services, job.id),
      });
      const seconds = (Date.now() - started) / 1000;
      const highest = await sampler.stop();
      expect(highest.jobs.get(job.id)).toBeLessThanOrEqual(50);
      expect(highest.jobs.get(job.id)).toBeGreaterThanOrEqual(40);
      expect((await countByStatus(services, job.id)).SUCCEEDED).toBe(DEVICES);
      // Each task was pushed exactly once (re-pushes are off), whichever instance pushed it, and each
      // device ran exactly one upgrade. A device may still *hear* its push twice: the answer to the
      // getversion it sends on connecting lists its pending pushes, and when one instance answers it
      // just after the other pushed, the push arrives both ways (at-least-once, DESIGN §4); devices
      // take a repeat of the job they are on as the same push, so it is not a second push.
      const pushedBy = [await metric(first.server, 'updraft_engine_pushes_total'), await metric(second, 'updraft_engine_pushes_total')];
      const reportsBy = [await metric(first.server, 'updraft_reports_written_total'), await metric(second, 'updraft_reports_written_total')];
      expect(pushedBy[0] + pushedBy[1]).toBe(DEVICES);
      expect(fleet.stats.upgradesStarted).toBe(DEVICES);
      expect(fleet.stats.busyRejected).toBe(0);
      expect(fleet.stats.pushesReceived + fleet.stats.pushesFromGetVersion).toBeGreaterThanOrEqual(DEVICES);
      // The broker split the device traffic between the instances.
      expect(Math.min(...reportsBy)).toBeGreaterThan(0);
      console.log(
        `[measure] two instances (PostgreSQL, Mosquitto): ${DEVICES} devices in ${seconds.toFixed(1)} s at maxConcurrency 50; ` +
          `pushes ${pushedBy.join(' + ')}, reports written ${reportsBy.join(' + ')} (${Math.round((reportsBy[0] + reportsBy[1]) / seconds)}/s)`,
      );
    },
  );
});
