/**
 * A server with the demo data (product, 300 devices, firmware, jobs in every state) and the engine
 * off, so that nothing moves while a test looks: views, searches and forms are checked on fixed data.
 */
import { sql } from 'drizzle-orm';
import { queryRows } from '@updraft/server/db/sql.js';
import { seedDemo } from '@updraft/server/seed/demo.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { globalId } from './console.js';

export async function startDemoServer(): Promise<TestServer> {
  const ts = await startTestServer({ engineEnabled: false });
  await seedDemo(ts.server.services, ts.server.adminCaller, 300);
  return ts;
}

/** The global ID of the demo job with this name. */
export async function demoJobId(ts: TestServer, name: string): Promise<string> {
  const [row] = await queryRows<{ id: string }>(ts.server.services.db, sql`select id from ota_jobs where name = ${name}`);
  if (!row) throw new Error(`no demo job named ${name}`);
  return globalId('OtaJob', row.id);
}

export const DEMO_JOBS = {
  running: 'Roll out 1.2.0 to the fleet',
  finishedUpgrade: 'Roll out 1.1.0 to batch A',
  stopped: 'Pilot 2.0.0 in eu-north',
  scheduled: 'Night rollout of 2.0.0 in us-east',
  cancelled: 'Accidental rollout (cancelled)',
  verified: 'Verify 1.2.0 on the lab meters',
} as const;
