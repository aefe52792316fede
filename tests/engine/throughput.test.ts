/**
 * Throughput measurement (not a check; runs with ENGINE_BENCH=1 on PostgreSQL): the server in its
 * own process, 2,000 simulated devices with a cap above the fleet upgrading fast with many progress
 * reports, so that the server, not the devices, sets the pace. Prints devices pushed per minute
 * and reports written per second, through the embedded broker and through Mosquitto.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startFleet } from '@updraft/server/simulator/index.js';
import { usingPostgres } from '../support/database.js';
import {
  allFinal,
  countByStatus,
  externalMqttUrl,
  freePort,
  processWorkspace,
  serverProcess,
  setUpFleet,
  uniqueProductKey,
  upgradeJob,
  waitFor,
} from './support.js';

const DEVICES = Number(process.env.ENGINE_BENCH_DEVICES ?? 2000);
const modes = [['embedded broker', null], ...(externalMqttUrl ? [['Mosquitto', externalMqttUrl]] : [])] as [string, string | null][];

describe.runIf(process.env.ENGINE_BENCH && usingPostgres).each(modes)('throughput through the %s', (name, mqttUrl) => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => {});
  });

  it('pushes and ingests as fast as it can', { timeout: 600_000 }, async () => {
    const workspace = await processWorkspace();
    cleanup.push(() => workspace.close());
    const mqttPort = await freePort();
    const server = serverProcess(
      {
        DATABASE_URL: workspace.databaseUrl,
        DATA_DIR: workspace.dataDir,
        ENGINE_SWEEP_MS: '200',
        ...(mqttUrl ? { MQTT_URL: mqttUrl, MQTT_SHARE_GROUP: uniqueProductKey('bench') } : { MQTT_PORT: String(mqttPort), MQTT_HOST: '127.0.0.1' }),
      },
      await freePort(),
    );
    cleanup.push(() => server.kill());
    await server.start();
    const { services } = workspace;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('bench'), count: DEVICES });
    const fleet = await startFleet({
      devices: setup.devices,
      mqttUrl: mqttUrl ?? `mqtt://127.0.0.1:${mqttPort}`,
      upgradeSeconds: 2,
      rebootSeconds: 0.2,
      progressReports: 20,
      connectRate: 500,
    });
    cleanup.push(() => fleet.stop());
    const started = Date.now();
    const job = await upgradeJob(services, setup, { scope: { allDevices: true }, maxConcurrency: DEVICES });
    await waitFor(async () => (await server.counter('updraft_engine_pushes_total')) >= DEVICES, { what: 'every device pushed', timeoutMs: 300_000 });
    const pushSeconds = (Date.now() - started) / 1000;
    await waitFor(async () => allFinal(await countByStatus(services, job.id)), { what: 'all final', timeoutMs: 500_000 });
    const seconds = (Date.now() - started) / 1000;
    const reports = await server.counter('updraft_reports_written_total');
    const batches = await server.counter('updraft_report_batches_total');
    const batchMs = await server.counter('updraft_report_batch_ms_total');
    expect((await countByStatus(services, job.id)).SUCCEEDED).toBe(DEVICES);
    console.log(
      `[measure] ${name}, server process on PostgreSQL: ${DEVICES} devices pushed in ${pushSeconds.toFixed(1)} s ` +
        `(${Math.round((DEVICES / pushSeconds) * 60)} devices/min); ${reports} reports in ${seconds.toFixed(1)} s ` +
        `(${Math.round(reports / seconds)} reports/s, ${Math.round(reports / Math.max(1, batches))} per batch, ${Math.round(batchMs / Math.max(1, batches))} ms per batch)`,
    );
  });
});
