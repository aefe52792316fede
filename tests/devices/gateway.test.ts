/**
 * The device gateway at the protocol level, with hand-written devices: authentication and topic
 * ACLs of the embedded broker, presence (will, takeover), replies 200/400/764/765, malformed and
 * oversize payloads, unknown devices and reports for unknown jobs. Nothing crashes, everything is
 * counted on /metrics.
 */
import { randomBytes } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import mqtt, { type MqttClient } from 'mqtt';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PAYLOAD_BYTES, deviceMqttCredentials, encodeRequest, encodeReply, otaReplyTopic, otaTopic } from '@updraft/server/devices/protocol.js';
import { queryRows } from '@updraft/server/db/sql.js';
import type { FleetDeviceSpec } from '@updraft/server/simulator/index.js';
import type { TestServer } from '../support/server.js';
import { brokerModes, mqttUrlOf, setUpFleet, startEngineServer, tasksOf, uniqueProductKey, upgradeJob, waitFor, type TestFleet } from '../engine/support.js';

interface Received {
  topic: string;
  body: { id?: string; code?: number; data?: unknown; params?: unknown };
}

class TestDevice {
  readonly received: Received[] = [];
  private constructor(
    readonly spec: FleetDeviceSpec,
    readonly client: MqttClient,
  ) {
    client.on('message', (topic, payload) => {
      let body: Received['body'] = {};
      try {
        body = JSON.parse(payload.toString());
      } catch {}
      this.received.push({ topic, body });
    });
  }

  static async connect(url: string, spec: FleetDeviceSpec, options: mqtt.IClientOptions = {}): Promise<TestDevice> {
    const client = await mqtt.connectAsync(url, {
      ...deviceMqttCredentials(spec.productKey, spec.deviceKey, spec.secret),
      protocolVersion: 4,
      reconnectPeriod: 0,
      will: { topic: otaTopic(spec.productKey, spec.deviceKey, 'presence'), payload: Buffer.from('{"online":false}'), qos: 1, retain: false },
      ...options,
    });
    const device = new TestDevice(spec, client);
    const kinds = ['inform', 'progress', 'getversion'] as const;
    await client.subscribeAsync(
      [
        ...kinds.map((k) => otaReplyTopic(spec.productKey, spec.deviceKey, k)),
        otaTopic(spec.productKey, spec.deviceKey, 'upgrade'),
        otaTopic(spec.productKey, spec.deviceKey, 'cancel'),
      ],
      { qos: 1 },
    );
    return device;
  }

  topic(kind: Parameters<typeof otaTopic>[2]): string {
    return otaTopic(this.spec.productKey, this.spec.deviceKey, kind);
  }

  async send(kind: 'inform' | 'progress' | 'getversion', id: string, params: object): Promise<void> {
    await this.client.publishAsync(this.topic(kind), encodeRequest(kind, id, params as never), { qos: 1 });
  }

  async sendRaw(kind: Parameters<typeof otaTopic>[2], payload: string | Buffer): Promise<void> {
    await this.client.publishAsync(this.topic(kind), payload, { qos: 1 });
  }

  async reply(id: string, timeoutMs = 15_000): Promise<Received['body']> {
    const found = await waitFor(() => this.received.find((m) => m.topic.endsWith('_reply') && m.body.id === id), { what: `reply ${id}`, timeoutMs });
    return found.body;
  }
}

async function deviceRow(ts: TestServer, fleet: TestFleet, deviceKey: string) {
  const [row] = await queryRows<{ online: boolean; firmware_version: string | null }>(
    ts.server.services.db,
    sql`select d.online, d.firmware_version from devices d join products p on p.id = d.product_id
        where p.product_key = ${fleet.productKey} and d.device_key = ${deviceKey}`,
  );
  return row;
}

async function metrics(ts: TestServer): Promise<string> {
  return (await fetch(`${ts.server.url}/metrics`)).text();
}

describe.each(brokerModes())('device gateway through the %s', { timeout: 120_000 }, (name, overrides) => {
  const embedded = name === 'embedded broker';
  let ts: TestServer;
  let fleet: TestFleet;
  const devices: TestDevice[] = [];
  beforeAll(async () => {
    ts = await startEngineServer(overrides());
    fleet = await setUpFleet(ts.server.services, { productKey: uniqueProductKey('gw'), count: 6 });
  });
  afterAll(async () => {
    await Promise.all(devices.map((d) => d.client.endAsync(true)));
    await ts?.close();
  });
  const connect = async (i: number, options?: mqtt.IClientOptions) => {
    const device = await TestDevice.connect(mqttUrlOf(ts), fleet.devices[i], options);
    devices.push(device);
    return device;
  };

  it('inform marks the device online with its version (200); the will marks it offline', async () => {
    const device = await connect(0);
    await device.send('inform', 'a1', { version: '1.0.7' });
    expect(await device.reply('a1')).toMatchObject({ code: 200 });
    expect(await deviceRow(ts, fleet, device.spec.deviceKey)).toEqual({ online: true, firmware_version: '1.0.7' });
    await new Promise((resolve) => setTimeout(resolve, 1200)); // past the external broker's presence grace
    device.client.stream.destroy(); // a network loss: the broker publishes the will
    await waitFor(async () => (await deviceRow(ts, fleet, device.spec.deviceKey)).online === false, { what: 'offline' });
  });

  it.runIf(embedded)('keeps a device online when its old connection is replaced by a new one', async () => {
    const old = await connect(1);
    await old.send('inform', 'b1', { version: '1.0.0' });
    await old.reply('b1');
    const fresh = await connect(1); // same client id: the broker drops the old connection
    await fresh.send('inform', 'b2', { version: '1.0.0' });
    await fresh.reply('b2');
    await waitFor(() => old.client.disconnected || !old.client.connected, { what: 'the old connection to close' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await deviceRow(ts, fleet, fresh.spec.deviceKey)).online).toBe(true);
  });

  it('answers progress with 764 without a task, 765 when the task is not pushed yet, 200 in flight', async () => {
    const device = await connect(2);
    await device.send('progress', 'c1', { step: '10', desc: '' });
    expect(await device.reply('c1')).toMatchObject({ code: 764 });
    // A window that is closed now: the task waits To be Pushed.
    const closed = (new Date().getUTCHours() + 3) % 24;
    const pad = (h: number) => `${String(h).padStart(2, '0')}:00`;
    const waiting = await upgradeJob(ts.server.services, fleet, {
      scope: { deviceKeys: [device.spec.deviceKey] },
      schedule: { dailyWindowStart: pad(closed), dailyWindowEnd: pad((closed + 1) % 24), timezone: 'UTC' },
    });
    await device.send('progress', 'c2', { step: '10', desc: '' });
    expect(await device.reply('c2')).toMatchObject({ code: 765 });
    expect((await tasksOf(ts.server.services, waiting.id)).get(device.spec.deviceKey)?.status).toBe('TO_BE_PUSHED');
  });

  it('answers getversion with the pending push, and ignores replies that match no push', async () => {
    const device = await connect(3);
    await device.send('inform', 'd0', { version: '1.0.0' });
    await device.reply('d0');
    const job = await upgradeJob(ts.server.services, fleet, { scope: { deviceKeys: [device.spec.deviceKey] } });
    const push = await waitFor(() => device.received.find((m) => m.topic.endsWith('/upgrade')), { what: 'the push' });
    expect(push.body.params).toMatchObject({ jobId: job.id, version: '2.0.0', signMethod: 'SHA256' });
    await device.send('getversion', 'd1', {});
    const reply = await device.reply('d1');
    expect(reply.code).toBe(200);
    expect(reply.data).toEqual([expect.objectContaining({ jobId: job.id, version: '2.0.0' })]);
    // A decline for a push that never was (unknown job / id) changes nothing.
    await device.client.publishAsync(`${device.topic('upgrade')}_reply`, encodeReply('no-such-push', 403), { qos: 1 });
    await device.send('inform', 'd2', { version: '1.0.0' });
    await device.reply('d2');
    expect((await tasksOf(ts.server.services, job.id)).get(device.spec.deviceKey)?.status).toBe('PUSHED');
    // The real push's decline is a DEVICE_IGNORED failure.
    await device.client.publishAsync(`${device.topic('upgrade')}_reply`, encodeReply(push.body.id!, 503, { message: 'busy' }), { qos: 1 });
    await waitFor(async () => (await tasksOf(ts.server.services, job.id)).get(device.spec.deviceKey)?.failure_reason === 'DEVICE_IGNORED', {
      what: 'DEVICE_IGNORED',
    });
    expect((await tasksOf(ts.server.services, job.id)).get(device.spec.deviceKey)?.failure_detail).toBe('Device replied 503: busy');
  });

  it("carries the API's OtaJob id (otaJobId) beside the bare jobId in the push, the getversion reply and the cancel", async () => {
    const device = await connect(4);
    await device.send('inform', 'g0', { version: '1.0.0' });
    await device.reply('g0');
    const job = await upgradeJob(ts.server.services, fleet, { scope: { deviceKeys: [device.spec.deviceKey] } });
    const push = await waitFor(() => device.received.find((m) => m.topic.endsWith('/upgrade')), { what: 'the push' });
    const params = push.body.params as { jobId: string; otaJobId: string };
    expect(params.jobId).toBe(job.id);
    // The id a device reports to its owner's integration is the one the API knows the job by.
    const looked = await ts.gql(`query($id: ID!) { job(id: $id) { id } }`, { id: params.otaJobId });
    expect(looked.data.job).toEqual({ id: params.otaJobId });
    await device.send('getversion', 'g1', {});
    expect((await device.reply('g1')).data).toEqual([expect.objectContaining({ jobId: job.id, otaJobId: params.otaJobId })]);
    const cancelled = await ts.gql(
      `mutation($input: CancelUpgradeInput!) { cancelUpgrade(input: $input) { __typename ... on MutationCancelUpgradeSuccess { data { cancelled { deviceKey } } } } }`,
      { input: { jobId: params.otaJobId, deviceKeys: [device.spec.deviceKey] } },
    );
    expect(cancelled.data.cancelUpgrade.data.cancelled).toEqual([{ deviceKey: device.spec.deviceKey }]);
    const cancel = await waitFor(() => device.received.find((m) => m.topic.endsWith('/cancel')), { what: 'the cancel' });
    expect(cancel.body.params).toEqual({ jobId: job.id, otaJobId: params.otaJobId });
  });

  it('cancelJob fails every waiting and pushed device as Cancelled by user and tells the pushed ones to stop', async () => {
    const device = await connect(5);
    await device.send('inform', 'k0', { version: '1.0.0' });
    await device.reply('k0');
    // fleet.devices[2] never connects: it stays To be Pushed (offline).
    const job = await upgradeJob(ts.server.services, fleet, { scope: { deviceKeys: [device.spec.deviceKey, fleet.devices[2].deviceKey] } });
    await waitFor(() => device.received.find((m) => m.topic.endsWith('/upgrade')), { what: 'the push' });
    const cancelled = await ts.gql(`mutation($id: ID!) { cancelJob(id: $id) { __typename ... on MutationCancelJobSuccess { data { status } } } }`, {
      id: encodeGlobalID('OtaJob', job.id),
    });
    expect(cancelled.data.cancelJob.data.status).toBe('CANCELLED');
    const cancel = await waitFor(() => device.received.find((m) => m.topic.endsWith('/cancel')), { what: 'the cancel' });
    expect(cancel.body.params).toMatchObject({ jobId: job.id });
    const tasks = await tasksOf(ts.server.services, job.id);
    for (const key of [device.spec.deviceKey, fleet.devices[2].deviceKey]) {
      expect(tasks.get(key)).toMatchObject({ status: 'FAILED', failure_reason: 'CANCELLED_BY_USER' });
    }
  });

  it('answers malformed and oversize payloads with 400 where an id can be read, counts them, and keeps going', async () => {
    const device = await connect(4);
    await device.sendRaw('progress', '{"id":"e1","version":"1.0","method":"ota.device.progress","params":{"step":"abc"}}');
    expect(await device.reply('e1')).toMatchObject({ code: 400 });
    await device.sendRaw('inform', '{"id":"e2", this is not json');
    expect(await device.reply('e2')).toMatchObject({ code: 400 });
    await device.sendRaw('inform', `{"id":"e3","pad":"${'x'.repeat(MAX_PAYLOAD_BYTES + 10)}"}`);
    expect(await device.reply('e3')).toMatchObject({ code: 400 });
    await device.sendRaw('inform', Buffer.from([0xff, 0xfe, 0x00, 0x01]));
    await device.sendRaw('progress', '[1,2,3]');
    await device.sendRaw('inform', '{"id":"e4","version":"1.0","method":"ota.device.progress","params":{"version":"1"}}');
    expect(await device.reply('e4')).toMatchObject({ code: 400 });
    // Still served afterwards.
    await device.send('inform', 'e5', { version: '1.0.0' });
    expect(await device.reply('e5')).toMatchObject({ code: 200 });
    const text = await metrics(ts);
    expect(text).toMatch(/updraft_device_malformed_total\{code="NOT_JSON"\} [1-9]/);
    expect(text).toMatch(/updraft_device_malformed_total\{code="PAYLOAD_TOO_LARGE"\} [1-9]/);
    expect(text).toMatch(/updraft_device_malformed_total\{code="METHOD_MISMATCH"\} [1-9]/);
    expect(text).toMatch(/updraft_device_bad_request_replies_total [1-9]/);
  });

  it.runIf(embedded)('refuses wrong secrets, unknown devices and mismatched identities', async () => {
    const url = mqttUrlOf(ts);
    const spec = fleet.devices[5];
    const attempt = (options: mqtt.IClientOptions) =>
      mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...options }).then(
        async (c) => {
          await c.endAsync(true);
          return 'connected';
        },
        (error: Error) => error.message,
      );
    const good = deviceMqttCredentials(spec.productKey, spec.deviceKey, spec.secret);
    expect(await attempt({ ...good, password: 'wrong' })).toMatch(/Bad username or password/);
    expect(await attempt({ ...deviceMqttCredentials(spec.productKey, 'nobody', spec.secret) })).toMatch(/Bad username or password/);
    expect(await attempt({ ...good, clientId: `${spec.productKey}.${fleet.devices[0].deviceKey}` })).toMatch(/Bad username or password/);
    expect(await attempt({ clientId: 'observer', username: 'observer', password: 'x' })).toMatch(/Bad username or password/);
    expect(await attempt(good)).toBe('connected');
    expect(await metrics(ts)).toMatch(/updraft_mqtt_connect_refused_total\{reason="bad_secret"\} [1-9]/);
  });

  it.runIf(embedded)('keeps a device inside its own topics', async () => {
    const device = await connect(5);
    const other = fleet.devices[0];
    // Each refused in the SUBACK (0x80), which mqtt.js reports as a subscribe error.
    for (const filter of [otaTopic(other.productKey, other.deviceKey, 'upgrade'), '/sys/#', '#']) {
      await expect(device.client.subscribeAsync(filter, { qos: 1 })).rejects.toThrow(/Subscribe error/);
    }
    await device.client.subscribeAsync(device.topic('cancel'), { qos: 1 }); // its own: fine
    // Publishing as another device closes the connection and changes nothing.
    const closed = new Promise<void>((resolve) => device.client.once('close', () => resolve()));
    device.client.publish(otaTopic(other.productKey, other.deviceKey, 'inform'), encodeRequest('inform', 'f1', { version: '6.6.6' }), { qos: 1 });
    await closed;
    expect((await deviceRow(ts, fleet, other.deviceKey)).firmware_version).not.toBe('6.6.6');
    expect(await metrics(ts)).toMatch(/updraft_mqtt_acl_denied_total\{action="publish"\} [1-9]/);
  });

  it.runIf(!embedded)('does not answer devices it does not know (a shared broker carries other systems too)', async () => {
    const stranger: FleetDeviceSpec = { productKey: uniqueProductKey('stranger'), deviceKey: 'x1', secret: randomBytes(8).toString('hex'), version: '1' };
    const device = await TestDevice.connect(mqttUrlOf(ts), stranger);
    devices.push(device);
    await device.send('progress', 'g1', { step: '5' });
    await waitFor(async () => /updraft_device_unknown_total [1-9]/.test(await metrics(ts)), { what: 'the unknown device counted' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(device.received.filter((m) => m.body.id === 'g1')).toHaveLength(0);
  });
});
