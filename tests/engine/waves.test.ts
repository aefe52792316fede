/**
 * Phased rollouts (issue 16) at the protocol level: simulated devices over real MQTT, the engine on
 * a fast clock. Wave k is not pushed before wave k-1 reached its success threshold; the error
 * threshold stops the job and nothing more is pushed; an approval gate waits, then resumes; the
 * same seed gives the same waves and push order; the cap holds inside a wave; two instances on one
 * PostgreSQL and one Mosquitto start each wave once and push nothing outside the active wave.
 * The `[evidence]` lines (first push of each wave against the previous wave's threshold time) go
 * into the closing note.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '@updraft/server/app.js';
import { loadConfig } from '@updraft/server/config.js';
import { openDatabase } from '@updraft/server/db/client.js';
import { queryRows } from '@updraft/server/db/sql.js';
import { startJob, stopJob } from '@updraft/server/domain/jobs/control.js';
import { approveNextWave } from '@updraft/server/domain/jobs/waves.js';
import { inTransaction } from '@updraft/server/domain/transaction.js';
import type { AppServices } from '@updraft/server/services.js';
import { type FleetDeviceSpec, startFleet, type Fleet } from '@updraft/server/simulator/index.js';
import { usingPostgres } from '../support/database.js';
import type { TestServer } from '../support/server.js';
import {
  countByStatus,
  externalMqttUrl,
  FAST_ENGINE,
  jobStatus,
  mqttUrlOf,
  setUpFleet,
  startEngineServer,
  uniqueProductKey,
  upgradeJob,
  waitFor,
} from './support.js';

let ts: TestServer;
const cleanup: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  ts = await startEngineServer();
});
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
  await ts?.close();
});

const quick = { upgradeSeconds: 0.5, rebootSeconds: 0.1, progressReports: 2 };
async function fleetOf(url: string, devices: FleetDeviceSpec[]): Promise<Fleet> {
  const fleet = await startFleet({ devices, mqttUrl: url, ...quick });
  cleanup.push(() => fleet.stop());
  return fleet;
}

interface WaveRow {
  index: number;
  status: string;
  started_at: Date | null;
  threshold_reached_at: Date | null;
  approved_at: Date | null;
  first_push: Date | null;
  pushed: number;
  n: number;
}

async function wavesOf(services: AppServices, jobId: string): Promise<WaveRow[]> {
  const rows = await queryRows<WaveRow & { n: string | number; pushed: string | number }>(
    services.db,
    sql`select w.index, w.status, w.started_at, w.threshold_reached_at, w.approved_at,
               (select min(t.pushed_at) from job_tasks t where t.job_id = w.job_id and t.wave_index = w.index) as first_push,
               (select count(*) from job_tasks t where t.job_id = w.job_id and t.wave_index = w.index and t.pushed_at is not null) as pushed,
               (select count(*) from job_tasks t where t.job_id = w.job_id and t.wave_index = w.index) as n
        from job_waves w where w.job_id = ${jobId} order by w.index`,
  );
  const date = (v: Date | string | null) => (v === null ? null : new Date(v));
  return rows.map((r) => ({
    ...r,
    n: Number(r.n),
    pushed: Number(r.pushed),
    started_at: date(r.started_at),
    threshold_reached_at: date(r.threshold_reached_at),
    approved_at: date(r.approved_at),
    first_push: date(r.first_push),
  }));
}

/** Samples the job's devices in flight (per wave) until stopped; returns the highest seen. */
function sampleInFlight(services: AppServices, jobId: string) {
  let highest = 0;
  const perWave = new Map<number, number>();
  let running = true;
  let samples = 0;
  const loop = (async () => {
    while (running) {
      const rows = await queryRows<{ wave_index: number; n: number | string }>(
        services.db,
        sql`select wave_index, count(*) as n from job_tasks where job_id = ${jobId} and status in ('PUSHED', 'IN_PROGRESS') group by wave_index`,
      ).catch(() => null);
      if (!rows) break;
      highest = Math.max(
        highest,
        rows.reduce((a, r) => a + Number(r.n), 0),
      );
      for (const r of rows) perWave.set(r.wave_index, Math.max(perWave.get(r.wave_index) ?? 0, Number(r.n)));
      samples++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { highest, perWave, samples };
    },
  };
}

async function decisionsOf(services: AppServices, jobId: string) {
  return queryRows<{ wave_index: number; kind: string; actor: string; reason: string }>(
    services.db,
    sql`select wave_index, kind, actor, reason from job_rollout_decisions where job_id = ${jobId} order by id`,
  );
}

function evidence(label: string, waves: WaveRow[]): void {
  for (const w of waves.slice(1)) {
    const previous = waves[w.index - 1];
    const gate = previous.approved_at ?? previous.threshold_reached_at;
    console.log(
      `[evidence] ${label}: wave ${w.index + 1} first push ${w.first_push?.toISOString()} ` +
        `${previous.approved_at ? 'approval' : 'threshold'} of wave ${previous.index} at ${gate?.toISOString()} ` +
        `(+${w.first_push && gate ? w.first_push.getTime() - gate.getTime() : 'n/a'} ms)`,
    );
  }
}

describe('phased rollouts with simulated devices', () => {
  it('pushes wave k only after wave k-1 reached its success threshold; the cap holds inside each wave', { timeout: 180_000 }, async () => {
    const services = ts.server.services;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('waves'), count: 30 });
    await fleetOf(mqttUrlOf(ts), setup.devices);
    const job = await upgradeJob(services, setup, {
      scope: { allDevices: true },
      maxConcurrency: 4,
      rollout: { waves: [{ count: 3, successThresholdPercent: 100 }, { percent: 40, successThresholdPercent: 100 }, {}] },
    });
    const sampler = sampleInFlight(services, job.id);
    await waitFor(async () => (await jobStatus(services, job.id)).status === 'FINISHED', {
      what: 'the job to finish',
      describe: () => wavesOf(services, job.id),
    });
    const waves = await wavesOf(services, job.id);
    expect(waves.map((w) => [w.n, w.status])).toEqual([
      [3, 'PASSED'],
      [9, 'PASSED'],
      [18, 'PASSED'],
    ]);
    for (const w of waves.slice(1)) {
      const previous = waves[w.index - 1];
      expect(previous.threshold_reached_at).not.toBeNull();
      expect(w.first_push!.getTime()).toBeGreaterThanOrEqual(previous.threshold_reached_at!.getTime());
      expect(w.started_at!.getTime()).toBeGreaterThanOrEqual(previous.threshold_reached_at!.getTime());
    }
    evidence('3 waves, 30 devices, cap 4', waves);
    const inFlight = await sampler.stop();
    expect(inFlight.samples).toBeGreaterThan(20);
    expect(inFlight.highest).toBeLessThanOrEqual(4);
    // The last (largest) wave fills the cap it has.
    expect(inFlight.perWave.get(2)).toBe(4);
    const decisions = await decisionsOf(services, job.id);
    expect(decisions.filter((d) => d.kind === 'WAVE_STARTED').map((d) => [d.wave_index, d.actor])).toEqual([
      [0, 'Test operator'],
      [1, 'Rollout engine'],
      [2, 'Rollout engine'],
    ]);
    expect(decisions.filter((d) => d.kind === 'THRESHOLD_REACHED').map((d) => d.reason)).toEqual([
      'Wave 1 (Canary): 3 of 3 devices succeeded (100%), reaching its success threshold of 100%',
      'Wave 2 (Wave 2): 9 of 9 devices succeeded (100%), reaching its success threshold of 100%',
      // The last wave's threshold is the default (95 %): passing it ends nothing more.
      'Wave 3 (Wave 3): 18 of 18 devices succeeded (100%), reaching its success threshold of 95%',
    ]);
  });

  it('stops the job on the canary error threshold and pushes nothing more', { timeout: 120_000 }, async () => {
    const services = ts.server.services;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('wavefail'), count: 16 });
    const canary = setup.devices.slice(10, 14).map((d) => d.deviceKey);
    await fleetOf(
      mqttUrlOf(ts),
      setup.devices.map((d) => (canary.includes(d.deviceKey) ? { ...d, behaviour: 'writeFail' as const } : d)),
    );
    const job = await upgradeJob(services, setup, {
      scope: { allDevices: true },
      maxConcurrency: 2,
      rollout: { waves: [{ count: 4, errorThreshold: { percent: 25, minFinished: 2 } }, {}], canaryDeviceKeys: canary },
    });
    await waitFor(async () => (await jobStatus(services, job.id)).status === 'STOPPED', { what: 'the job to stop' });
    const { status_reason } = await jobStatus(services, job.id);
    expect(status_reason).toMatch(/^Stopped by the rollout: Wave 1 \(Canary\): \d+ of \d+ finished devices failed \(\d+%\), above its error threshold of 25%$/);
    const stoppedAt = await wavesOf(services, job.id);
    expect(stoppedAt.map((w) => w.status)).toEqual(['FAILED', 'PENDING']);
    expect(stoppedAt[1].pushed).toBe(0);
    // Several engine passes later: still nothing more pushed, in either wave.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const later = await wavesOf(services, job.id);
    expect(later.map((w) => w.pushed)).toEqual(stoppedAt.map((w) => w.pushed));
    expect(stoppedAt[0].pushed).toBeLessThanOrEqual(3);
    const counts = await countByStatus(services, job.id);
    expect(counts.TO_BE_PUSHED).toBeGreaterThanOrEqual(12);
    expect((await decisionsOf(services, job.id)).at(-1)).toMatchObject({ kind: 'ERROR_THRESHOLD_CROSSED', actor: 'Rollout engine' });
  });

  it('waits at an approval gate, then resumes with the approval', { timeout: 120_000 }, async () => {
    const services = ts.server.services;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('wavegate'), count: 8 });
    await fleetOf(mqttUrlOf(ts), setup.devices);
    const job = await upgradeJob(services, setup, {
      scope: { allDevices: true },
      rollout: { waves: [{ count: 2, approvalRequired: true }, {}] },
    });
    await waitFor(async () => (await jobStatus(services, job.id)).status === 'WAITING_FOR_APPROVAL', { what: 'the approval gate' });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const waiting = await wavesOf(services, job.id);
    expect(waiting.map((w) => [w.status, w.pushed])).toEqual([
      ['WAITING_FOR_APPROVAL', 2],
      ['PENDING', 0],
    ]);
    expect((await jobStatus(services, job.id)).status).toBe('WAITING_FOR_APPROVAL');
    // The second approval of the same wave is refused: the wave starts once.
    await inTransaction(services, (scope) => approveNextWave(scope, { ...setup.caller, displayName: 'Ada' }, job.id, 1));
    await expect(inTransaction(services, (scope) => approveNextWave(scope, setup.caller, job.id, 1))).rejects.toThrow(/Cannot approve the next wave/);
    await waitFor(async () => (await jobStatus(services, job.id)).status === 'FINISHED', { what: 'the job to finish' });
    const waves = await wavesOf(services, job.id);
    expect(waves[1].first_push!.getTime()).toBeGreaterThanOrEqual(waves[0].approved_at!.getTime());
    evidence('approval gate, 8 devices', waves);
    const decisions = await decisionsOf(services, job.id);
    expect(decisions.map((d) => `${d.kind}:${d.wave_index}:${d.actor}`)).toEqual([
      'PLAN_CREATED:0:Test operator',
      'WAVE_STARTED:0:Test operator',
      'THRESHOLD_REACHED:0:Rollout engine',
      'APPROVAL_REQUESTED:0:Rollout engine',
      'APPROVED:0:Ada',
      'WAVE_STARTED:1:Ada',
      'THRESHOLD_REACHED:1:Rollout engine',
    ]);
  });

  it('gives the same waves and push order for the same seed', { timeout: 120_000 }, async () => {
    const services = ts.server.services;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('waveseed'), count: 40 });
    const rollout = { waves: [{ percent: 10 }, { percent: 50 }, {}], seed: 1234 };
    const assignment = async (jobId: string) =>
      queryRows<{ device_key: string; wave_index: number; wave_order: number }>(
        services.db,
        sql`select device_key, wave_index, wave_order from job_tasks where job_id = ${jobId} order by device_key`,
      );
    // Devices offline: nothing is pushed while the jobs are compared.
    const a = await upgradeJob(services, setup, { name: 'A', scope: { allDevices: true }, rollout });
    const b = await upgradeJob(services, setup, { name: 'B', scope: { allDevices: true }, rollout });
    const c = await upgradeJob(services, setup, { name: 'C', scope: { allDevices: true }, rollout: { ...rollout, seed: 99 } });
    expect(a.rolloutSeed).toBe(1234);
    expect(await assignment(b.id)).toEqual(await assignment(a.id));
    expect(await assignment(c.id)).not.toEqual(await assignment(a.id));
    for (const other of [b, c]) await queryRows(services.db, sql`update ota_jobs set status = 'CANCELLED' where id = ${other.id}`);
    // One at a time, the devices are pushed in the recorded rollout order (all online first).
    await inTransaction(services, (scope) => stopJob(scope, setup.caller, a.id));
    await queryRows(services.db, sql`update ota_jobs set max_concurrency = 1 where id = ${a.id}`);
    await fleetOf(mqttUrlOf(ts), setup.devices);
    await waitFor(
      async () => {
        const [row] = await queryRows<{ n: number | string }>(
          services.db,
          sql`select count(*) as n from devices where product_id = (select product_id from ota_jobs where id = ${a.id}) and online`,
        );
        return Number(row.n) === 40;
      },
      { what: 'every device online' },
    );
    await inTransaction(services, (scope) => startJob(scope, setup.caller, a.id));
    await waitFor(async () => (await wavesOf(services, a.id))[1].pushed >= 6, { what: 'the second wave under way' });
    const pushed = await queryRows<{ wave_index: number; wave_order: number }>(
      services.db,
      sql`select wave_index, wave_order from job_tasks where job_id = ${a.id} and pushed_at is not null order by pushed_at, id`,
    );
    const byOrder = [...pushed].sort((x, y) => x.wave_index - y.wave_index || x.wave_order - y.wave_order);
    expect(pushed).toEqual(byOrder);
  });

  it.runIf(usingPostgres && externalMqttUrl)(
    'two instances on one database and one Mosquitto start each wave once and push nothing outside the active wave',
    { timeout: 240_000 },
    async () => {
      const group = uniqueProductKey('wshare');
      const overrides = { mqttUrl: externalMqttUrl, mqttShareGroup: group, repushAfterMs: 600_000, engineSweepMs: 50 };
      const first: TestServer = await startEngineServer(overrides);
      cleanup.push(() => first.close());
      const dataDir = await mkdtemp(path.join(os.tmpdir(), 'updraft-waves-'));
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
      const setup = await setUpFleet(services, { productKey: uniqueProductKey('wtwo'), count: 120 });
      const fleet = await fleetOf(externalMqttUrl!, setup.devices);
      const job = await upgradeJob(services, setup, {
        scope: { allDevices: true },
        maxConcurrency: 20,
        rollout: { preset: 'CANARY_10_50_100', randomOrder: true },
      });
      const sampler = sampleInFlight(services, job.id);
      await waitFor(async () => (await jobStatus(services, job.id)).status === 'FINISHED', {
        what: 'the job to finish',
        timeoutMs: 180_000,
        describe: () => wavesOf(services, job.id),
      });
      const waves = await wavesOf(services, job.id);
      expect(waves.map((w) => w.status)).toEqual(['PASSED', 'PASSED', 'PASSED', 'PASSED']);
      for (const w of waves.slice(1)) expect(w.first_push!.getTime()).toBeGreaterThanOrEqual(waves[w.index - 1].threshold_reached_at!.getTime());
      evidence('two instances, canary preset, 120 devices', waves);
      const decisions = await decisionsOf(services, job.id);
      for (const kind of ['WAVE_STARTED', 'THRESHOLD_REACHED']) {
        expect(decisions.filter((d) => d.kind === kind).map((d) => d.wave_index)).toEqual([0, 1, 2, 3]);
      }
      const pushes =
        (await first.server.services.metrics.value('updraft_engine_pushes_total')) + (await second.services.metrics.value('updraft_engine_pushes_total'));
      expect(pushes).toBe(120);
      expect(fleet.stats.upgradesStarted).toBe(120);
      expect((await sampler.stop()).highest).toBeLessThanOrEqual(20);
    },
  );
});
