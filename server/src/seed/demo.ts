/**
 * The demo data `pnpm start` puts into an empty database: a product with a fleet, firmware
 * versions, and jobs in every state, created through the same domain functions the API uses.
 * Job history that only devices could produce (pushes, progress, failures) is written as those
 * reports would have left it, so the console has something real to show from the first second.
 * The device credentials go to `<dataDir>/demo-fleet.json` for the simulator.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { products } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { registerDevices } from '../domain/devices.js';
import { uploadFirmware } from '../domain/firmware.js';
import { cancelJob, stopJob } from '../domain/jobs/control.js';
import { createUpgradeJob, createVerificationJob } from '../domain/jobs/create.js';
import { createProduct } from '../domain/products.js';
import { inTransaction } from '../domain/transaction.js';
import type { AppServices } from '../services.js';

export const DEMO_PRODUCT_KEY = 'demo-meter';

export interface DemoFleetDevice {
  productKey: string;
  deviceKey: string;
  secret: string;
  version: string;
}

export async function seedDemoIfEmpty(services: AppServices, caller: Caller, fleetSize = 300): Promise<boolean> {
  const existing = await services.db.$count(products);
  if (existing > 0) return false;
  await seedDemo(services, caller, fleetSize);
  return true;
}

export async function seedDemo(services: AppServices, caller: Caller, fleetSize: number): Promise<void> {
  await createProduct(services.db, caller, {
    productKey: DEMO_PRODUCT_KEY,
    name: 'Smart Meter M2',
    description: 'Demo product: a fleet of simulated smart meters.',
  });
  const regions = ['eu-west', 'eu-north', 'us-east'];
  const devices = Array.from({ length: fleetSize }, (_, i) => ({
    deviceKey: `meter-${String(i + 1).padStart(4, '0')}`,
    name: `Meter ${i + 1}`,
    firmwareVersion: i % 10 < 7 ? '1.0.0' : '1.1.0',
    tags: { region: regions[i % regions.length], batch: i < fleetSize / 2 ? 'A' : 'B' },
  }));
  const registered = await inTransaction(services, (scope) => registerDevices(scope, caller, { productKey: DEMO_PRODUCT_KEY, devices }));
  const fleet: DemoFleetDevice[] = registered.map((r) => ({
    productKey: DEMO_PRODUCT_KEY,
    deviceKey: r.device.deviceKey,
    secret: r.secret,
    version: r.device.firmwareVersion ?? '1.0.0',
  }));
  // With DATABASE_URL nothing else creates the data directory.
  await mkdir(services.config.dataDir, { recursive: true });
  await writeFile(path.join(services.config.dataDir, 'demo-fleet.json'), JSON.stringify(fleet, null, 2));

  const upload = (name: string, version: string, requireVerification: boolean) =>
    uploadFirmware(services, caller, {
      productKey: DEMO_PRODUCT_KEY,
      name,
      version,
      signMethod: 'SHA256',
      description: `Demo firmware ${version}`,
      requireVerification,
      file: { name: `meter-${version}.bin`, stream: Readable.from([randomBytes(256 * 1024)]) },
    });
  const v11 = await upload('Meter firmware 1.1', '1.1.0', false);
  const v12 = await upload('Meter firmware 1.2', '1.2.0', true);
  const v20 = await upload('Meter firmware 2.0', '2.0.0', false);

  const keys = devices.map((d) => d.deviceKey);
  const create = <T>(work: Parameters<typeof inTransaction<T>>[1]) => inTransaction(services, work);

  // A verification of 1.2.0 that passed: its firmware is verified.
  const verification = await create((s) =>
    createVerificationJob(s, caller, { firmwareId: v12.id, name: 'Verify 1.2.0 on the lab meters', deviceKeys: keys.slice(0, 3) }),
  );
  await writeHistory(services, verification.id, { succeeded: 3 });
  await services.db.execute(sql`update firmwares set verified = true, verified_at = now() where id = ${v12.id}`);
  await services.db.execute(sql`update ota_jobs set status = 'FINISHED', finished_at = now() where id = ${verification.id}`);

  // A finished rollout of 1.1.0 to batch A.
  const finished = await create((s) =>
    createUpgradeJob(s, caller, {
      firmwareId: v11.id,
      name: 'Roll out 1.1.0 to batch A',
      scope: { allDevices: true, srcVersions: ['1.0.0'], tags: [{ key: 'batch', value: 'A' }] },
      maxConcurrency: 50,
    }),
  );
  await writeHistory(services, finished.id, { succeeded: 0.93, failed: 0.07 });
  await services.db.execute(sql`update ota_jobs set status = 'FINISHED', finished_at = now() where id = ${finished.id}`);

  // A running rollout of 1.2.0 with devices in every tab.
  const running = await create((s) =>
    createUpgradeJob(s, caller, {
      firmwareId: v12.id,
      name: 'Roll out 1.2.0 to the fleet',
      scope: { allDevices: true },
      maxConcurrency: 100,
      retry: { count: 1, intervalMinutes: 5 },
      abortThreshold: { percent: 30, minFinished: 50 },
    }),
  );
  await writeHistory(services, running.id, { succeeded: 0.35, failed: 0.1, inProgress: 0.1, pushed: 0.05 });

  // A stopped one, a scheduled one and a cancelled one.
  const stopped = await create((s) =>
    createUpgradeJob(s, caller, {
      firmwareId: v20.id,
      name: 'Pilot 2.0.0 in eu-north',
      scope: { allDevices: true, tags: [{ key: 'region', value: 'eu-north' }] },
      maxConcurrency: 10,
    }),
  );
  await writeHistory(services, stopped.id, { succeeded: 0.2, failed: 0.05 });
  await create((s) => stopJob(s, caller, stopped.id));
  await create((s) =>
    createUpgradeJob(s, caller, {
      firmwareId: v20.id,
      name: 'Night rollout of 2.0.0 in us-east',
      scope: { allDevices: true, tags: [{ key: 'region', value: 'us-east' }] },
      schedule: { startAt: new Date(Date.now() + 24 * 3600_000), dailyWindowStart: '01:00', dailyWindowEnd: '05:00', timezone: 'America/New_York' },
      pushRatePerMinute: 100,
    }),
  );
  const cancelled = await create((s) =>
    createUpgradeJob(s, caller, { firmwareId: v11.id, name: 'Accidental rollout (cancelled)', scope: { deviceKeys: keys.slice(-20) } }),
  );
  await writeHistory(services, cancelled.id, { succeeded: 0.1 });
  await create((s) => cancelJob(s, caller, cancelled.id));
}

const DEMO_FAILURES = [
  ['DOWNLOAD_FAILED', 'HTTP 503 while downloading the firmware'],
  ['VERIFICATION_FAILED', 'sha256 mismatch'],
  ['WRITE_FAILED', 'flash write error at block 112'],
  ['TIMEOUT', 'No result within the timeout'],
  ['DEVICE_IGNORED', 'Device replied 503: busy'],
  ['UNDEFINED', 'watchdog reset during install'],
] as const;

/**
 * Moves shares of a job's tasks (in device-key order) to the given states, as device reports
 * would have: pushed, in progress at some percent, succeeded on the new version, or failed.
 */
async function writeHistory(
  services: AppServices,
  jobId: string,
  shares: Partial<Record<'succeeded' | 'failed' | 'inProgress' | 'pushed', number>>,
): Promise<void> {
  const { db } = services;
  const tasks = (await db.query.jobTasks.findMany({ where: { jobId, status: 'TO_BE_PUSHED' }, orderBy: { deviceKey: 'asc' } })).map((t) => t.id);
  const [job] = await db.query.otaJobs.findMany({ where: { id: jobId }, with: { firmware: true } });
  let offset = 0;
  const take = (share = 0) => {
    const count = share >= 1 ? Math.min(share, tasks.length - offset) : Math.round(tasks.length * share);
    const ids = tasks.slice(offset, offset + count);
    offset += count;
    return ids;
  };
  const minutesAgo = (n: number) => sql`now() - make_interval(mins => ${n})`;
  // The history below reaches back about an hour: the job started before it.
  await db.execute(sql`update ota_jobs set created_at = ${minutesAgo(75)}, started_at = ${minutesAgo(70)} where id = ${jobId}`);
  // A made-up past, not transitions: written directly (the task trigger still numbers each change).
  const base = sql`updated_at = now()`;
  for (const id of take(shares.succeeded)) {
    const m = 10 + (id % 50);
    await db.execute(sql`update job_tasks set status = 'SUCCEEDED', progress = 100, current_version = ${job.firmware.version},
      pushed_at = ${minutesAgo(m + 8)}, started_at = ${minutesAgo(m + 7)}, finished_at = ${minutesAgo(m)}, ${base} where id = ${id}`);
    await db.execute(sql`update devices set firmware_version = ${job.firmware.version}
      where id = (select device_id from job_tasks where id = ${id})`);
  }
  for (const [i, id] of take(shares.failed).entries()) {
    const [reason, detail] = DEMO_FAILURES[i % DEMO_FAILURES.length];
    const m = 5 + (id % 40);
    await db.execute(sql`update job_tasks set status = 'FAILED', failure_reason = ${reason}, failure_detail = ${detail},
      pushed_at = ${minutesAgo(m + 6)}, failed_at = ${minutesAgo(m)}, finished_at = ${minutesAgo(m)}, ${base} where id = ${id}`);
  }
  for (const id of take(shares.inProgress)) {
    await db.execute(sql`update job_tasks set status = 'IN_PROGRESS', progress = ${10 + (id % 80)},
      pushed_at = ${minutesAgo(4)}, started_at = ${minutesAgo(3)}, timeout_at = now() + make_interval(mins => ${job.timeoutMinutes}), ${base} where id = ${id}`);
  }
  for (const id of take(shares.pushed)) {
    await db.execute(sql`update job_tasks set status = 'PUSHED', pushed_at = ${minutesAgo(1)},
      timeout_at = now() + make_interval(mins => ${job.timeoutMinutes}), ${base} where id = ${id}`);
  }
}
