/**
 * A client that stops reading its socket must not stall the others, nor make the server queue
 * data for it without bound. The job here changes far more data than the kernel's socket buffers
 * hold (a 5,000-device job whose every device changes 12 times), so the stalled client really is
 * stalled; the changes are written as reports would write them, straight into the tasks, with the
 * event that follows every such write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../support/server.js';
import { subscribe } from '../support/subscriptions.js';
import { createProduct, createUpgradeJob, rawId, uploadFirmware } from '../support/fixtures.js';
import { waitFor } from '../engine/support.js';

const DEVICES = 5000;
const ROUNDS = 12;
// A wide selection, as a dashboard's device table takes it: about 400 bytes per device.
const UPDATES = `subscription($id: ID!, $after: String) { jobDeviceUpdates(jobId: $id, after: $after) {
  cursor devices { id deviceKey status progress failureReason failureReasonText failureDetail waitingReason
                   srcVersion currentVersion attempt pushedAt startedAt failedAt updatedAt } removedDeviceKeys } }`;

let ts: TestServer;
let jobId: string;

beforeAll(async () => {
  // Keep-alive off for this test: a client that reads nothing for minutes cannot answer pings, and
  // would (rightly) be dropped, which is not what this test is about.
  ts = await startTestServer({ engineEnabled: false, jobDeviceUpdatesIntervalMs: 20, wsKeepAliveMs: 3_600_000 });
  await createProduct(ts, 'wide');
  await ts.database.handle.rawQuery(
    `insert into devices (ou_id, product_id, device_key, secret_hash, firmware_version)
     select p.ou_id, p.id, 'dev-' || lpad(i::text, 5, '0'), md5(i::text), '1.0' from products p, generate_series(1, ${DEVICES}) i where p.product_key = 'wide'`,
  );
  const firmwareId = (await uploadFirmware(ts, { productKey: 'wide', name: 'Two', version: '2.0' })).id;
  jobId = await createUpgradeJob(ts, { firmwareId, scope: { allDevices: true } });
});
afterAll(() => ts?.close());

async function changeEveryDevice(round: number) {
  const id = rawId(jobId);
  await ts.database.handle.rawQuery(
    `update job_tasks set progress = $2::smallint, failure_detail = repeat('x', 40) || $2::text, updated_at = now() where job_id = $1`,
    [id, round],
  );
  const [job] = await ts.database.handle.rawQuery<{ ou_id: string }>(`select ou_id from ota_jobs where id = $1`, [id]);
  ts.server.services.events.publish('job:tasks', id, { jobId: id, ouId: job.ou_id, maxChangeSeq: 0, count: DEVICES });
}

describe('a stalled subscriber', () => {
  it('does not delay the others, is held to a bounded buffer, and catches up from its cursor', { timeout: 300_000 }, async () => {
    const id = jobId;
    const slow = new WebSocket(ts.server.wsUrl, 'graphql-transport-ws');
    await new Promise((resolve) => slow.once('open', resolve));
    slow.send(JSON.stringify({ type: 'connection_init', payload: ts.connectionParams() }));
    await new Promise((resolve) => slow.once('message', resolve));
    slow.send(JSON.stringify({ id: 'slow', type: 'subscribe', payload: { query: UPDATES, variables: { id } } }));
    const fast = subscribe({ url: ts.server.wsUrl, query: UPDATES, variables: { id }, connectionParams: ts.connectionParams() });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const slowSocket = (slow as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    slowSocket.pause();

    let maxBuffered = 0;
    const sampler = setInterval(() => {
      for (const client of ts.server.webSocketServer.clients) maxBuffered = Math.max(maxBuffered, client.bufferedAmount);
    }, 10);
    let fastBytes = 0;
    const fastView = new Map<string, number>();
    for (let round = 1; round <= ROUNDS; round++) {
      await changeEveryDevice(round);
      // The fast client sees every device reach this round before the next one starts.
      while ([...fastView.values()].filter((p) => p === round).length < DEVICES) {
        const event = (await fast.next(60_000)) as { kind: string; data: any };
        if (!event.data?.jobDeviceUpdates) throw new Error(JSON.stringify(event));
        fastBytes += JSON.stringify(event.data).length;
        for (const d of event.data.jobDeviceUpdates.devices) fastView.set(d.deviceKey, d.progress);
      }
    }
    clearInterval(sampler);
    // Far more went to the fast client than any socket buffers hold; the stalled one stayed small.
    expect(fastBytes).toBeGreaterThan(20_000_000);
    expect(maxBuffered).toBeLessThan(3_000_000);

    expect(slow.readyState).toBe(WebSocket.OPEN);
    // Reading again, the stalled client catches up with the latest state of every device.
    const slowView = new Map<string, number>();
    const slowAppearances = new Map<string, number>();
    let slowBytes = 0;
    let slowMessages = 0;
    slow.on('message', (raw) => {
      slowMessages++;
      slowBytes += raw.toString().length;
      const message = JSON.parse(String(raw));
      for (const d of message.payload?.data?.jobDeviceUpdates?.devices ?? []) {
        slowView.set(d.deviceKey, d.progress);
        slowAppearances.set(d.deviceKey, (slowAppearances.get(d.deviceKey) ?? 0) + 1);
      }
    });
    slowSocket.resume();
    await waitFor(() => slowView.size === DEVICES && [...slowView.values()].every((p) => p === ROUNDS), {
      what: 'the stalled client at the last round',
      timeoutMs: 60_000,
      describe: () => ({ size: slowView.size, rounds: [...new Set(slowView.values())], slowBytes, messages: slowMessages }),
    });
    // It was not replayed every change it missed: what sat in socket buffers, then each device's
    // latest state read by cursor. The fast client saw every device ROUNDS times.
    const appearances = [...slowAppearances.values()].reduce((a, b) => a + b, 0) / DEVICES;
    console.log(
      `stalled client: ${appearances.toFixed(1)} states per device (fast: ${ROUNDS}), server buffer at most ${maxBuffered} bytes, fast client got ${fastBytes} bytes`,
    );
    expect(appearances).toBeLessThan(ROUNDS * 0.75);
    slow.close();
    await fast.dispose();
  });
});
