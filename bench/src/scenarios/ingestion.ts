/**
 * Scenario 2, ingestion: devices report progress over MQTT (QoS 1, each device sending its next
 * report as soon as the previous one was acknowledged), the gateway writes the reports and a
 * graphql-ws subscriber follows the job. Sustained reports per second, with no acknowledged report
 * lost (checked in the database, in the replies and at the subscriber), against raw batched UPDATEs
 * of the same rows through postgres.js in the same run.
 */
import { rawBatchedUpdate, RAW_BATCH } from '../baselines/raw-update.js';
import type { BenchContext } from '../context.js';
import { cpuFigures, describeCpu, meterCpu, type CpuShares } from '../cpu.js';
import { createBenchDatabase, sleep, startUpdraft, waitUntil } from '../environment.js';
import { addFirmware, createFleet, createJob, DEVICE_SECRET, deviceKey, putInFlight } from '../fixtures.js';
import { figure, maxOf, quantile, ratios, type ScenarioResult } from '../results.js';
import { Worker } from '../workers.js';
import { globalJobId, JOB_DEVICE_UPDATES } from './live-documents.js';

interface ProgressRun {
  sent: number;
  acked: number;
  startedAt: number;
  ackTimes: number[];
  latencies: number[];
  lastAcked: number[];
  replies: Record<string, number>;
}

/** Reports per second over the run, leaving out its first second (connections warming up). */
export function sustainedRate(run: { startedAt: number; ackTimes: number[] }): number {
  const from = run.startedAt + 1000;
  const inWindow = run.ackTimes.filter((t) => t >= from);
  const end = maxOf(run.ackTimes);
  return end > from ? inWindow.length / ((end - from) / 1000) : run.ackTimes.length / ((end - run.startedAt) / 1000);
}

export async function runIngestion(ctx: BenchContext): Promise<ScenarioResult> {
  const sizes = ctx.quick ? { devices: 300, seconds: 4 } : { devices: 10_000, seconds: 20 };
  const database = await createBenchDatabase();
  const updraft = await startUpdraft(database);
  const { server } = updraft;
  const devices = Worker.start('devices');
  const subscriber = Worker.start('subscribers');
  const checks: string[] = [];
  try {
    const fleet = await createFleet(server, { productKey: 'ingest', count: sizes.devices });
    const job = await createJob(server, (await addFirmware(server, fleet, '2.0.0')).id, { maxConcurrency: sizes.devices });
    await putInFlight(server, job.id);
    const taskIds = new Map(
      (await database.handle.rawQuery<{ id: string | number; device_key: string }>('select id, device_key from job_tasks where job_id = $1', [job.id])).map(
        (r) => [r.device_key, Number(r.id)],
      ),
    );
    const url = new URL(server.rollout.gateway!.deviceUrl);
    const connected = await devices.call<{ connected: number; ms: number }>('connect', {
      host: url.hostname,
      port: Number(url.port),
      fleet: { productKey: fleet.productKey, prefix: fleet.prefix, from: 0, count: fleet.count, secret: DEVICE_SECRET },
    });
    ctx.log(`  ${connected.connected} devices connected in ${(connected.ms / 1000).toFixed(1)} s`);
    await subscriber.call('openGraphql', {
      url: server.wsUrl,
      token: updraft.token,
      count: 1,
      probes: 1,
      operations: [{ query: JOB_DEVICE_UPDATES, variables: { jobId: globalJobId(job.id) } }],
    });
    await sleep(500);

    const counter = (name: string) => server.services.metrics.value(name);
    const updraftRates: number[] = [];
    const rawRates: number[] = [];
    const p50: number[] = [];
    const p99: number[] = [];
    const cpuShares: CpuShares[] = [];
    for (let rep = 0; rep <= ctx.reps; rep++) {
      const warmUp = rep === 0;
      await putInFlight(server, job.id);
      await sleep(300);
      const writtenBefore = await counter('updraft_reports_written_total');
      const meter = meterCpu([devices.pid, subscriber.pid]);
      const run = await devices.call<ProgressRun>('progress', {
        fromStep: 1,
        toStep: 99,
        seconds: warmUp ? Math.min(5, sizes.seconds) : sizes.seconds,
        awaitReply: true,
      });
      // Replies are sent right after the commit, like the PUBACKs: give the last ones a moment.
      run.replies = (await waitUntil(
        async () => {
          const replies = await devices.call<Record<string, number>>('replies');
          return (replies['200'] ?? 0) >= run.acked && replies;
        },
        'a 200 reply to every acknowledged report',
        10_000,
      )) as Record<string, number>;
      const cpu = meter.stop();
      const written = (await counter('updraft_reports_written_total')) - writtenBefore;
      // No acknowledged report lost: the database has every device at its last acknowledged step …
      const rows = await database.handle.rawQuery<{ device_key: string; progress: number }>('select device_key, progress from job_tasks where job_id = $1', [
        job.id,
      ]);
      const expected = new Map(run.lastAcked.map((step, i) => [deviceKey(fleet.prefix, i), step]));
      const wrong = rows.filter((r) => Number(r.progress) !== Math.max(0, expected.get(r.device_key) ?? -1));
      if (wrong.length) throw new Error(`${wrong.length} tasks do not hold their last acknowledged progress, e.g. ${JSON.stringify(wrong.slice(0, 3))}`);
      if (written < run.acked) throw new Error(`${run.acked} reports acknowledged but the gateway counted ${written} written`);
      // … and so does the subscriber, once it has caught up.
      const caughtUp = await waitUntil(
        async () => {
          const seen = await subscriber.call<Record<string, number>>('latest');
          return [...expected].every(([key, step]) => (step <= 0 ? true : seen[key] === step)) && seen;
        },
        'the subscriber to see every acknowledged report',
        60_000,
        250,
      ).catch(() => null);
      if (!caughtUp) throw new Error('the subscriber did not receive the last acknowledged state of every device');
      if (!warmUp) {
        const rate = sustainedRate(run);
        updraftRates.push(rate);
        if (cpu) cpuShares.push(cpu);
        p50.push(quantile(run.latencies, 0.5));
        p99.push(quantile(run.latencies, 0.99));
        // The same rows, the same number of times, by raw batched UPDATEs.
        await putInFlight(server, job.id);
        const rawRows: { id: number; progress: number }[] = [];
        const maxStep = maxOf(run.lastAcked);
        for (let step = 1; step <= maxStep; step++) {
          run.lastAcked.forEach((last, i) => {
            if (last >= step) rawRows.push({ id: taskIds.get(deviceKey(fleet.prefix, i))!, progress: step });
          });
        }
        const rawMs = await rawBatchedUpdate(database, rawRows);
        rawRates.push(rawRows.length / (rawMs / 1000));
        checks.push(
          `rep ${rep}: ${run.acked.toLocaleString('en-US')} reports acknowledged (${run.replies['200'] ?? 0} replied 200), ${written.toLocaleString('en-US')} written; ` +
            `every task and the subscriber hold each device's last acknowledged step`,
        );
        ctx.log(
          `  rep ${rep}: ${Math.round(rate)} reports/s (ack p50 ${p50.at(-1)!.toFixed(0)} ms, p99 ${p99.at(-1)!.toFixed(0)} ms); raw UPDATE ${Math.round(rawRates.at(-1)!)} rows/s; ${describeCpu(cpu)}`,
        );
      }
    }
    return {
      id: 'ingestion',
      title: '2. Ingestion',
      setup:
        `${sizes.devices.toLocaleString('en-US')} devices (one MQTT connection each, ${server.rollout.gateway!.transport.mode} broker) with a task Pushed; ` +
        `each sends progress 1, 2, … (QoS 1) as soon as its previous report was acknowledged (PUBACK and 200 reply), for ${sizes.seconds} s; one graphql-ws subscriber follows the job (jobDeviceUpdates); ` +
        `the engine runs. Rate = acknowledged reports per second after the first second. Baseline: the same (task, progress) rows by raw UPDATE … FROM unnest, ${RAW_BATCH} rows per transaction, one connection.`,
      figures: [
        figure('Updraft: reports written per second (acknowledged)', '/s', updraftRates, { text: '≥ 10,000/s', met: (m) => m >= 10_000 }),
        figure('report acknowledgement latency p50', 'ms', p50),
        figure('report acknowledgement latency p99', 'ms', p99),
        figure('raw batched UPDATE: rows per second', '/s', rawRates),
        figure('ratio Updraft / raw UPDATE', '×', ratios(updraftRates, rawRates), { text: '≥ 0.5', met: (m) => m >= 0.5 }),
        ...cpuFigures(cpuShares, 'during the Updraft runs'),
      ],
      checks,
      notes: [],
    };
  } finally {
    await devices.call('close').catch(() => {});
    await subscriber.call('close').catch(() => {});
    await devices.close();
    await subscriber.close();
    await updraft.close();
    await database.drop();
  }
}
