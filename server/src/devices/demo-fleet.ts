/**
 * `pnpm start` runs the demo fleet (the simulator, a separate process that knows only the protocol
 * and the device credentials) against this server's broker, so that the seeded jobs move on their
 * own. The fleet file is the one the demo seed wrote; before each start its versions are brought up
 * to what the database says each device runs, so a device that upgraded in an earlier run comes
 * back on its new version.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { queryRows } from '../db/sql.js';
import type { AppServices } from '../services.js';

const SIMULATOR_MAIN = fileURLToPath(new URL('../simulator/main.ts', import.meta.url));

export interface DemoFleet {
  stop(): Promise<void>;
}

export async function startDemoFleet(services: AppServices, mqttUrl: string, log: (line: string) => void): Promise<DemoFleet | null> {
  const file = path.join(services.config.dataDir, 'demo-fleet.json');
  if (!existsSync(file)) {
    log(`demo fleet: ${file} does not exist (the demo seed writes it into an empty database); no simulated devices`);
    return null;
  }
  const fleet = JSON.parse(await readFile(file, 'utf8')) as { productKey: string; deviceKey: string; version: string }[];
  const versions = await queryRows<{ product_key: string; device_key: string; firmware_version: string | null }>(
    services.db,
    sql`select p.product_key, d.device_key, d.firmware_version from devices d join products p on p.id = d.product_id
        where p.product_key in (select jsonb_array_elements_text(${JSON.stringify([...new Set(fleet.map((d) => d.productKey))])}::jsonb))`,
  );
  const current = new Map(versions.map((v) => [`${v.product_key}/${v.device_key}`, v.firmware_version]));
  // Devices deleted from the console are gone from the fleet too.
  const live = fleet.filter((d) => current.has(`${d.productKey}/${d.deviceKey}`));
  for (const device of live) device.version = current.get(`${device.productKey}/${device.deviceKey}`) ?? device.version;
  await writeFile(file, JSON.stringify(live, null, 2));

  const tsxCli = fileURLToPath(import.meta.resolve('tsx/cli'));
  const args = [
    tsxCli,
    SIMULATOR_MAIN,
    '--fleet',
    file,
    '--mqtt',
    mqttUrl,
    '--behaviour',
    services.config.demoFleetBehaviour,
    // Offline devices come online after two minutes: the console shows them being pushed then.
    '--offline-delay',
    '120',
    '--stats-interval',
    '60',
  ];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  log(`demo fleet: ${live.length} simulated devices connecting to ${mqttUrl} (pid ${child.pid})`);
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') log(`demo fleet: simulator exited (${signal ?? code})`);
  });
  return {
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
