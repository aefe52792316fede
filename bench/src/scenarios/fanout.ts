/**
 * Scenario 3, fan-out: many graphql-ws subscribers on one running job, each with the job details
 * page's two subscriptions (jobProgress and jobDeviceUpdates), while devices report progress at a
 * steady rate. Events delivered per second, report-to-subscriber latency (device send → state in a
 * subscriber), server memory per subscriber; against a bare `ws` server broadcasting the same
 * messages to the same number of clients at the same moments.
 *
 * The comparison that can tell the two apart is the server's CPU per delivered event: both deliver
 * every event the load causes (so events/s alone comes out equal), but one may spend far more of
 * the server to do it. "Capacity" = events delivered per second of server CPU spent on delivery:
 * Updraft's is its CPU during the run minus its CPU during the same load with no subscriber.
 */
import { startBareBroadcast } from '../baselines/bare-broadcast.js';
import type { BenchContext } from '../context.js';
import { cpuFigures, meterCpu, type CpuShares } from '../cpu.js';
import { cpuMs, createBenchDatabase, sleep, startUpdraft, waitUntil } from '../environment.js';
import { addFirmware, createFleet, createJob, DEVICE_SECRET, deviceKey, putInFlight } from '../fixtures.js';
import { figure, median, quantile, ratios, type Figure, type ScenarioResult } from '../results.js';
import { Worker } from '../workers.js';
import { globalJobId, JOB_DEVICE_UPDATES, JOB_PROGRESS } from './live-documents.js';

interface ProgressRun {
  acked: number;
  lastAcked: number[];
  sendTimes: number[][];
}

interface Counts {
  messages: number;
  bytes: number;
  errors: string[];
  minMessages: number;
}

function heapMB(): { heap: number; rss: number } {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { heap: (m.heapUsed + m.external) / 2 ** 20, rss: m.rss / 2 ** 20 };
}

/** Waits until the subscribers' message count has not moved for a second. */
async function drained(subscribers: Worker): Promise<Counts> {
  let last = -1;
  for (let i = 0; i < 60; i++) {
    const counts = await subscribers.call<Counts>('counts');
    if (counts.messages === last) return counts;
    last = counts.messages;
    await sleep(1000);
  }
  return subscribers.call<Counts>('counts');
}

export async function runFanout(ctx: BenchContext): Promise<ScenarioResult> {
  const sizes = ctx.quick
    ? { devices: 200, rate: 100, seconds: 4, subscribers: [100, 20], probes: 5 }
    : { devices: 2_000, rate: 500, seconds: 20, subscribers: [1_000, 200], probes: 10 };
  const database = await createBenchDatabase();
  const updraft = await startUpdraft(database);
  const { server } = updraft;
  const devices = Worker.start('devices');
  const graphqlClients = Worker.start('subscribers');
  const bareClients = Worker.start('subscribers');
  const bare = await startBareBroadcast();
  const figures: Figure[] = [];
  const checks: string[] = [];
  try {
    const fleet = await createFleet(server, { productKey: 'fanout', count: sizes.devices });
    const job = await createJob(server, (await addFirmware(server, fleet, '2.0.0')).id, { maxConcurrency: sizes.devices });
    await putInFlight(server, job.id);
    const url = new URL(server.rollout.gateway!.deviceUrl);
    await devices.call('connect', {
      host: url.hostname,
      port: Number(url.port),
      fleet: { productKey: fleet.productKey, prefix: fleet.prefix, from: 0, count: fleet.count, secret: DEVICE_SECRET },
    });
    const load = (seconds: number) =>
      devices.call<ProgressRun>('progress', { fromStep: 1, toStep: 99, seconds, ratePerSecond: sizes.rate, keepSendTimes: true, awaitReply: true });

    // The same load with nobody watching: what ingestion alone costs the server.
    const idleCpu: number[] = [];
    for (let rep = 0; rep <= ctx.reps; rep++) {
      await putInFlight(server, job.id);
      await sleep(1000);
      const before = cpuMs();
      await load(rep === 0 ? 2 : sizes.seconds);
      await sleep(1000);
      if (rep > 0) idleCpu.push(cpuMs() - before);
    }
    ctx.log(`  the load alone: ${Math.round(median(idleCpu))} ms of server CPU per run`);

    for (const count of sizes.subscribers) {
      const before = heapMB();
      await graphqlClients.call('openGraphql', {
        url: server.wsUrl,
        token: updraft.token,
        count,
        probes: sizes.probes,
        operations: [
          { query: JOB_PROGRESS, variables: { jobId: globalJobId(job.id) } },
          { query: JOB_DEVICE_UPDATES, variables: { jobId: globalJobId(job.id) } },
        ],
      });
      await waitUntil(async () => (await graphqlClients.call<Counts>('counts')).minMessages >= 1, 'every subscriber to receive its first state', 120_000, 250);
      await sleep(1000);
      const opened = heapMB();
      const recordings: { at: number; data: string }[][] = [];
      const events: number[] = [];
      const capacity: number[] = [];
      const p50: number[] = [];
      const p99: number[] = [];
      const heapAfter: number[] = [];
      const cpuShares: CpuShares[] = [];
      for (let rep = 0; rep <= ctx.reps; rep++) {
        const warmUp = rep === 0;
        await putInFlight(server, job.id);
        await sleep(1500);
        await graphqlClients.call('reset', { record: true });
        const cpuBefore = cpuMs();
        const meter = meterCpu([devices.pid, graphqlClients.pid]);
        const run = await load(warmUp ? 2 : sizes.seconds);
        const shares = meter.stop();
        const counts = await drained(graphqlClients);
        const cpu = cpuMs() - cpuBefore;
        if (!warmUp && shares) cpuShares.push(shares);
        const expected = new Map(run.lastAcked.map((step, i) => [deviceKey(fleet.prefix, i), step]));
        const seen = await graphqlClients.call<Record<string, number>>('latest');
        const missing = [...expected].filter(([key, step]) => step > 0 && seen[key] !== step);
        if (missing.length)
          throw new Error(`${missing.length} devices' last acknowledged state never reached the subscriber, e.g. ${JSON.stringify(missing.slice(0, 3))}`);
        if (counts.errors.length) throw new Error(`subscriber errors: ${counts.errors.join('; ')}`);
        const recording = await graphqlClients.call<{ at: number; data: string }[]>('recording');
        if (warmUp) continue;
        recordings.push(recording);
        const latencies = matchLatencies(await graphqlClients.call('receipts'), run.sendTimes, fleet.prefix);
        events.push(counts.messages / sizes.seconds);
        capacity.push(counts.messages / (Math.max(1, cpu - median(idleCpu)) / 1000));
        p50.push(quantile(latencies, 0.5));
        p99.push(quantile(latencies, 0.99));
        heapAfter.push(heapMB().heap);
        checks.push(
          `${count} subscribers, rep ${rep}: ${run.acked.toLocaleString('en-US')} reports; ${counts.messages.toLocaleString('en-US')} events ` +
            `(${(counts.bytes / 2 ** 20).toFixed(0)} MiB) delivered; the probes hold every device's last acknowledged state`,
        );
        ctx.log(
          `  ${count} subscribers rep ${rep}: ${Math.round(events.at(-1)!)} events/s, latency p50 ${p50.at(-1)!.toFixed(0)} ms p99 ${p99.at(-1)!.toFixed(0)} ms, ${Math.round(cpu)} ms CPU`,
        );
      }
      await graphqlClients.call('close');

      // The baseline: the same messages, to as many bare clients, at the same moments.
      const bareBefore = heapMB();
      await bareClients.call('openBare', { url: bare.url, count, probes: sizes.probes });
      await sleep(500);
      const bareOpened = heapMB();
      const bareEvents: number[] = [];
      const bareCapacity: number[] = [];
      const bareP50: number[] = [];
      const bareP99: number[] = [];
      for (const recording of recordings) {
        await bareClients.call('reset');
        const cpuBefore = cpuMs();
        const sentAt = await bare.replay(recording);
        const counts = await drained(bareClients);
        const cpu = cpuMs() - cpuBefore;
        if (counts.messages !== recording.length * count) throw new Error(`bare broadcast: ${counts.messages} of ${recording.length * count} messages arrived`);
        const arrivals = await bareClients.call<number[][]>('arrivals');
        const latencies = arrivals.flatMap((probe) => probe.map((at, k) => at - sentAt[k]));
        bareEvents.push(counts.messages / sizes.seconds);
        bareCapacity.push(counts.messages / (Math.max(1, cpu) / 1000));
        bareP50.push(quantile(latencies, 0.5));
        bareP99.push(quantile(latencies, 0.99));
      }
      await bareClients.call('close');

      const n = count.toLocaleString('en-US');
      const main = count === sizes.subscribers[0];
      figures.push(
        figure(`${n} subscribers: events delivered per second`, '/s', events),
        figure(`${n} subscribers: report → subscriber latency p50`, 'ms', p50),
        figure(`${n} subscribers: report → subscriber latency p99`, 'ms', p99, main ? { text: '< 1,000 ms', met: (m) => m < 1000 } : undefined),
        figure(`${n} subscribers: server memory per subscriber (heap + external, after connecting)`, 'KiB', [((opened.heap - before.heap) * 1024) / count]),
        figure(
          `${n} subscribers: server memory per subscriber (heap + external, after the runs)`,
          'KiB',
          heapAfter.map((h) => ((h - before.heap) * 1024) / count),
        ),
        figure(`${n} subscribers: server RSS per subscriber (after connecting)`, 'KiB', [((opened.rss - before.rss) * 1024) / count]),
        figure(`${n} subscribers: capacity, events per server CPU-second spent on delivery`, '/s', capacity),
        figure(`${n} bare ws clients: events delivered per second`, '/s', bareEvents),
        figure(`${n} bare ws clients: broadcast → client latency p50`, 'ms', bareP50),
        figure(`${n} bare ws clients: broadcast → client latency p99`, 'ms', bareP99),
        figure(`${n} bare ws clients: server memory per client`, 'KiB', [((bareOpened.heap - bareBefore.heap) * 1024) / count]),
        figure(`${n} bare ws clients: capacity, events per server CPU-second`, '/s', bareCapacity),
        figure(`${n} subscribers: ratio events/s Updraft / bare ws`, '×', ratios(events, bareEvents)),
        figure(
          `${n} subscribers: ratio capacity Updraft / bare ws`,
          '×',
          ratios(capacity, bareCapacity),
          main ? { text: '≥ 0.5', met: (m) => m >= 0.5 } : undefined,
        ),
        ...cpuFigures(cpuShares, `with ${n} subscribers`),
      );
    }
    return {
      id: 'fanout',
      title: '3. Fan-out',
      setup:
        `${sizes.devices.toLocaleString('en-US')} devices of one running job report progress at ${sizes.rate}/s in total for ${sizes.seconds} s (open loop); ` +
        `${sizes.subscribers.map((n) => n.toLocaleString('en-US')).join(' and ')} graphql-ws connections each subscribe to jobProgress and jobDeviceUpdates with the dashboard's documents ` +
        `(${sizes.probes} of them parse every message and time each device state against its report's send time; the others count messages and bytes). ` +
        `Baseline: a bare ws server in the same process sends the messages one subscriber received, at the same offsets, to as many clients. ` +
        `Capacity = events ÷ server CPU seconds spent on delivery (Updraft: CPU of the run minus CPU of the same load without subscribers).`,
      figures,
      checks,
      notes: [],
    };
  } finally {
    await devices.call('close').catch(() => {});
    for (const w of [devices, graphqlClients, bareClients]) await w.close();
    await bare.close();
    await updraft.close();
    await database.drop();
  }
}

/** Report → subscriber latency of every (device, progress) state a probe received. */
function matchLatencies(receipts: Record<string, Record<string, number>>[], sendTimes: number[][], prefix: string): number[] {
  const index = new Map(sendTimes.map((_, i) => [deviceKey(prefix, i), i]));
  const latencies: number[] = [];
  for (const probe of receipts) {
    for (const [key, byProgress] of Object.entries(probe ?? {})) {
      const i = index.get(key);
      if (i === undefined) continue;
      for (const [progress, at] of Object.entries(byProgress)) {
        const sent = sendTimes[i]?.[Number(progress)];
        if (sent) latencies.push(at - sent);
      }
    }
  }
  return latencies;
}
