/**
 * A device's reports take effect in the order the device sent them, whichever instance receives
 * them: two instances share a private Mosquitto's group (two members each, so the broker hands
 * consecutive messages to different instances), and 100 devices send their last reports in reverse
 * order — getversion, the result, progress 50, progress 0 — then a stale copy of their first inform.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer } from '@updraft/server/app.js';
import { loadConfig } from '@updraft/server/config.js';
import { openDatabase } from '@updraft/server/db/client.js';
import { queryRows } from '@updraft/server/db/sql.js';
import { encodeReply, encodeRequest, otaReplyTopic, otaTopic, parseOtaTopic } from '@updraft/server/devices/protocol.js';
import { usingPostgres } from '../support/database.js';
import { startMosquitto } from '../support/mosquitto.js';
import { FAST_ENGINE, setUpFleet, startEngineServer, tasksOf, uniqueProductKey, upgradeJob, waitFor } from '../engine/support.js';

const DEVICES = 100;
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
});

async function counter(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
}

describe.runIf(usingPostgres)('report order across instances', () => {
  it('reports delivered out of order to two instances take effect in the order the device sent them', { timeout: 120_000 }, async () => {
    const broker = await startMosquitto();
    cleanup.push(() => broker.close());
    const gateway = { mqttUrl: broker.url, mqttShareGroup: 'order', mqttConnections: 2 };
    const a = await startEngineServer(gateway);
    cleanup.push(() => a.close());
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'updraft-order-b-'));
    const handle = await openDatabase({ databaseUrl: a.database.url, pgliteDir: 'unused' });
    const b = await startServer(
      loadConfig({}, { ...FAST_ENGINE, ...gateway, dataDir, firmwareDir: a.server.services.config.firmwareDir, host: '127.0.0.1', port: 0, seedDemo: false }),
      handle,
    );
    cleanup.push(async () => {
      await b.close();
      await handle.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    const { services } = a.server;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('order'), count: DEVICES });
    const pk = setup.productKey;
    const keys = setup.devices.map((d) => d.deviceKey);

    // One client speaks for every device: the broker spreads its messages over the four members.
    const replies = new Map<string, { code: number; data: unknown }>(); // `${dk}/${id}`
    const pushes = new Map<string, string[]>(); // dk → push message ids
    const devices = await mqtt.connectAsync(broker.url, { clientId: `devices-${randomBytes(3).toString('hex')}`, protocolVersion: 5 });
    cleanup.push(() => devices.endAsync(true));
    devices.on('message', (topic, payload) => {
      const parsed = parseOtaTopic(topic);
      if (!parsed) return;
      const body = JSON.parse(payload.toString()) as { id: string; code: number; data: unknown };
      if (parsed.isReply) replies.set(`${parsed.deviceKey}/${body.id}`, { code: body.code, data: body.data });
      else if (parsed.kind === 'upgrade') {
        pushes.set(parsed.deviceKey, [...(pushes.get(parsed.deviceKey) ?? []), body.id]);
        void devices.publishAsync(otaReplyTopic(pk, parsed.deviceKey, 'upgrade'), encodeReply(body.id, 200), { qos: 1 });
      }
    });
    await devices.subscribeAsync(
      ['upgrade', 'inform_reply', 'progress_reply', 'getversion_reply'].map((t) => `/sys/${pk}/+/ota/device/${t}`),
      { qos: 1 },
    );
    const send = (dk: string, kind: 'inform' | 'progress' | 'getversion', seq: number, params: object) =>
      devices.publishAsync(otaTopic(pk, dk, kind), encodeRequest(kind, `boot1-${seq}`, params as never), { qos: 1 });

    for (const dk of keys) await send(dk, 'inform', 1, { version: '1.0.0' });
    await waitFor(() => keys.every((dk) => replies.has(`${dk}/boot1-1`)), { what: 'the informs answered', timeoutMs: 30_000 });
    const job = await upgradeJob(services, setup, { scope: { allDevices: true }, maxConcurrency: DEVICES, timeoutMinutes: 60 });
    await waitFor(() => keys.every((dk) => pushes.has(dk)), { what: 'every device pushed', timeoutMs: 30_000, describe: () => pushes.size });

    // Even devices fail (step -4), odd ones succeed (inform 2.0.0); everything goes out backwards.
    const result = (i: number) => (i % 2 === 0 ? (['progress', { step: '-4', desc: 'flash error' }] as const) : (['inform', { version: '2.0.0' }] as const));
    for (const [i, dk] of keys.entries()) {
      await send(dk, 'getversion', 5, {});
      await send(dk, result(i)[0], 4, result(i)[1]);
      await send(dk, 'progress', 3, { step: '50' });
      await send(dk, 'progress', 2, { step: '0' });
    }
    // A stale copy of the first inform: must not put the old version back.
    for (const dk of keys) await send(dk, 'inform', 1, { version: '1.0.0' });
    await waitFor(() => keys.every((dk) => [2, 3, 4, 5].every((seq) => replies.has(`${dk}/boot1-${seq}`))), {
      what: 'every report answered',
      timeoutMs: 60_000,
      describe: () => replies.size,
    });

    // Every report was answered as the device expects in its own order: no 764, no push of the task it just ended.
    const codes = keys.flatMap((dk) => [2, 3, 4].map((seq) => replies.get(`${dk}/boot1-${seq}`)!.code));
    expect(codes.filter((c) => c !== 200)).toEqual([]);
    const getversions = keys.map((dk) => replies.get(`${dk}/boot1-5`)!);
    expect(getversions.filter((r) => r.code !== 200 || (r.data as unknown[]).length > 0)).toEqual([]);

    const tasks = await tasksOf(services, job.id);
    const wrong = keys.filter((dk, i) => {
      const t = tasks.get(dk)!;
      return i % 2 === 0 ? !(t.status === 'FAILED' && t.failure_reason === 'WRITE_FAILED') : t.status !== 'SUCCEEDED';
    });
    expect(wrong).toEqual([]);
    const versions = await queryRows<{ device_key: string; firmware_version: string }>(
      services.db,
      sql`select d.device_key, d.firmware_version from devices d join products p on p.id = d.product_id where p.product_key = ${pk} order by d.device_key`,
    );
    expect(versions.filter((v, i) => v.firmware_version !== (i % 2 === 0 ? '1.0.0' : '2.0.0'))).toEqual([]);
    expect([...pushes.values()].filter((ids) => ids.length > 1)).toEqual([]);

    // The reports really went to both instances, and some waited for their predecessors.
    const written = [await counter(a.server.url, 'updraft_reports_written_total'), await counter(b.url, 'updraft_reports_written_total')];
    const held = (await counter(a.server.url, 'updraft_device_reports_held_total')) + (await counter(b.url, 'updraft_device_reports_held_total'));
    // The stale copies of the first inform get no reply the test waits for: give the last of them time to be read.
    const staleCount = async () =>
      (await counter(a.server.url, 'updraft_device_reports_stale_total')) + (await counter(b.url, 'updraft_device_reports_stale_total'));
    let stale = await staleCount();
    for (const until = Date.now() + 10_000; stale < DEVICES && Date.now() < until; stale = await staleCount()) await new Promise((r) => setTimeout(r, 100));
    expect(Math.min(...written)).toBeGreaterThan(0);
    expect(held).toBeGreaterThan(0);
    expect(stale).toBeGreaterThanOrEqual(DEVICES);
    console.log(`[measure] report order: ${DEVICES} devices, reports written per instance ${written.join(' / ')}, held ${held}, stale ${stale}`);
  });
});
