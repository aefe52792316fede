/**
 * Acceptance bug (issue 14): the job stopped on "2 of 2 finished devices failed", but a third
 * device had been pushed in the same engine pass: the push step ran before the abort check. The
 * push step itself now pushes nothing for a job past its abort threshold.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { queryRows } from '@updraft/server/db/sql.js';
import { DeviceCommands } from '@updraft/server/devices/commands.js';
import { Metrics } from '@updraft/server/observability/metrics.js';
import { loadDownloadTokens } from '@updraft/server/devices/download-token.js';
import type { DeviceTransport } from '@updraft/server/devices/transport.js';
import { pushWaitingTasks } from '@updraft/server/engine/push.js';
import { settleJob } from '@updraft/server/engine/settle.js';
import { createUpgradeJob, jobTasksByKey, rawId, seedProduct, setTaskStates, uploadFirmware } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;

beforeAll(async () => {
  // No engine of its own: the test runs its steps in the order of one pass.
  t = await startTestServer({ engineEnabled: false });
  await seedProduct(t, 'pump', 3, () => ({ firmwareVersion: '1.0' }));
});
afterAll(() => t?.close());

it('pushes no device of a job whose failures crossed its abort threshold, and the settle step stops it', async () => {
  const services = t.server.services;
  const firmwareId = (await uploadFirmware(t, { productKey: 'pump', name: 'Two', version: '2.0' })).id;
  const jobId = await createUpgradeJob(t, { firmwareId, scope: { allDevices: true }, abortThreshold: { percent: 50, minFinished: 2 } });
  await setTaskStates(t, jobId, { 'dev-0001': { status: 'FAILED', reason: 'WRITE_FAILED' }, 'dev-0002': { status: 'FAILED', reason: 'WRITE_FAILED' } });
  await queryRows(services.db, sql`update devices set online = true where device_key = 'dev-0003'`);

  const sent: string[] = [];
  const transport: DeviceTransport = {
    mode: 'embedded',
    deviceUrl: 'mqtt://unused',
    connectedForMs: () => 0,
    publish: (topic) => sent.push(topic),
    close: async () => {},
  };
  const tokens = await loadDownloadTokens(services.db, undefined, 60);
  const commands = new DeviceCommands(transport, tokens, 'http://127.0.0.1:1', new Metrics());
  const outcome = await pushWaitingTasks(services, commands, rawId(jobId), { ouConcurrencyCap: 1000, minuteMs: 60_000 });

  expect(outcome.pushed).toBe(0);
  expect(sent).toEqual([]);
  expect((await jobTasksByKey(t, jobId))['dev-0003'].status).toBe('TO_BE_PUSHED');
  expect(await settleJob(services, rawId(jobId))).toBe('STOPPED');
});
