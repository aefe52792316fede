/**
 * Scenario 4, rollout rate: an upgrade job over a 50,000-device fleet with a concurrency cap, the
 * engine pushing as fast as the cap, the devices and the database let it. Devices pushed per
 * minute, with the job's Pushed + In Progress count sampled from the database several times a
 * second and checked against the cap.
 *
 * Devices are fast (they accept, report 50 and 100 and inform the new version at once), so the
 * server sets the pace. They connect in key order, at most `window` at a time, and leave once
 * upgraded: a machine's open-file limit (here 20,000 per process) does not allow 50,000 sockets on
 * each side at once. The engine pushes online devices in key order, so it always finds connected
 * ones waiting.
 */
import type { BenchContext } from '../context.js';
import { cpuFigures, meterCpu, type CpuShares } from '../cpu.js';
import { createBenchDatabase, sleep, startUpdraft } from '../environment.js';
import { addFirmware, createFleet, createJob, DEVICE_SECRET, type Fleet } from '../fixtures.js';
import { figure, maxOf, type ScenarioResult } from '../results.js';
import { Worker } from '../workers.js';

interface RolloutRun {
  upgraded: number;
  failures: number;
  pushTimes: number[];
  startedAt: number;
}

export async function runRollout(ctx: BenchContext): Promise<ScenarioResult> {
  const sizes = ctx.quick ? { devices: 2_000, warmUp: 500, cap: 200, window: 1_000 } : { devices: 50_000, warmUp: 2_000, cap: 1_000, window: 8_000 };
  const database = await createBenchDatabase();
  const updraft = await startUpdraft(database);
  const { server } = updraft;
  const devices = Worker.start('devices');
  const checks: string[] = [];
  try {
    const fleet = await createFleet(server, { productKey: 'rollout', count: sizes.devices });
    const warmFleet = await createFleet(server, { productKey: 'warmup', count: sizes.warmUp, prefix: 'warm' });
    const url = new URL(server.rollout.gateway!.deviceUrl);
    const perMinute: number[] = [];
    const maxInFlight: number[] = [];
    const upgradeMinutes: number[] = [];
    const cpuShares: CpuShares[] = [];
    for (let rep = 0; rep <= ctx.reps; rep++) {
      const target: Fleet = rep === 0 ? warmFleet : fleet;
      const firmware = await addFirmware(server, target, `2.${rep}.0`);
      const pushesBefore = await server.services.metrics.value('updraft_engine_pushes_total');
      const job = await createJob(server, firmware.id, { maxConcurrency: sizes.cap, name: `rollout ${rep}` });
      // Sample the job's in-flight count from the database while the rollout runs.
      let sampling = true;
      let samples = 0;
      let highest = 0;
      const sampler = (async () => {
        while (sampling) {
          const [row] = await database.handle.rawQuery<{ n: string | number }>(
            `select count(*) as n from job_tasks where job_id = $1 and status in ('PUSHED', 'IN_PROGRESS')`,
            [job.id],
          );
          highest = Math.max(highest, Number(row.n));
          samples++;
          await sleep(200);
        }
      })();
      const meter = meterCpu([devices.pid]);
      const run = await devices.call<RolloutRun>('rollout', {
        host: url.hostname,
        port: Number(url.port),
        fleet: { productKey: target.productKey, prefix: target.prefix, from: 0, count: target.count, secret: DEVICE_SECRET },
        window: Math.min(sizes.window, target.count),
        timeoutSeconds: ctx.quick ? 300 : 1800,
      });
      const shares = meter.stop();
      sampling = false;
      await sampler;
      const pushed = (await server.services.metrics.value('updraft_engine_pushes_total')) - pushesBefore;
      const [counts] = await database.handle.rawQuery<{ succeeded: string | number; total: string | number }>(
        `select count(*) filter (where status = 'SUCCEEDED') as succeeded, count(*) as total from job_tasks where job_id = $1`,
        [job.id],
      );
      if (run.upgraded !== target.count || Number(counts.succeeded) !== target.count) {
        throw new Error(`rollout ${rep}: ${run.upgraded} devices upgraded, ${counts.succeeded} of ${counts.total} tasks succeeded`);
      }
      if (highest > sizes.cap) throw new Error(`rollout ${rep}: ${highest} tasks in flight at once, above the cap of ${sizes.cap}`);
      if (rep === 0) continue;
      const minutes = (maxOf(run.pushTimes) - run.startedAt) / 60_000;
      perMinute.push(target.count / minutes);
      upgradeMinutes.push((Date.now() - run.startedAt) / 60_000);
      maxInFlight.push(highest);
      if (shares) cpuShares.push(shares);
      checks.push(
        `rep ${rep}: all ${target.count.toLocaleString('en-US')} devices pushed (${pushed.toLocaleString('en-US')} pushes) and upgraded; ` +
          `in flight at most ${highest} of the cap ${sizes.cap} over ${samples} samples`,
      );
      ctx.log(`  rep ${rep}: ${Math.round(perMinute.at(-1)!)} devices pushed per minute; at most ${highest} in flight (${samples} samples)`);
    }
    return {
      id: 'rollout',
      title: '4. Rollout rate',
      setup:
        `An upgrade job over ${sizes.devices.toLocaleString('en-US')} devices, maxConcurrency ${sizes.cap}; devices connect in key order, at most ` +
        `${sizes.window.toLocaleString('en-US')} at a time, accept each push at once, report 50 and 100 and inform the new version, then leave. ` +
        `Rate = devices ÷ time from the job's creation to the last push received. In-flight count sampled every 200 ms from the database.`,
      figures: [
        figure('devices pushed per minute', '/min', perMinute, { text: '≥ 10,000/min', met: (m) => m >= 10_000 }),
        figure('whole rollout (to the last device upgraded)', 'min', upgradeMinutes),
        figure(`highest sampled Pushed + In Progress (cap ${sizes.cap})`, '', maxInFlight, { text: `≤ ${sizes.cap}`, met: (m) => m <= sizes.cap }),
        ...cpuFigures(cpuShares, 'during the rollouts'),
      ],
      checks,
      notes: [],
    };
  } finally {
    await devices.close();
    await updraft.close();
    await database.drop();
  }
}
