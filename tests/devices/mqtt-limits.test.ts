/**
 * The embedded broker's limits against hostile and careless devices (docs/engine.md, "Limits"):
 * oversize packets close the connection as their header arrives (authenticated or not), a client
 * that does not authenticate in time is closed, nothing a device sends is retained, and a flooding
 * device is slowed or disconnected while another device keeps being acknowledged.
 */
import net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceMqttCredentials, encodeRequest, otaReplyTopic, otaTopic } from '@updraft/server/devices/protocol.js';
import type { FleetDeviceSpec } from '@updraft/server/simulator/index.js';
import type { TestServer } from '../support/server.js';
import { mqttUrlOf, setUpFleet, startEngineServer, uniqueProductKey, waitFor, type TestFleet } from '../engine/support.js';

const MiB = 1024 * 1024;

/** MQTT's variable byte integer (remaining length). */
function remainingLength(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}

/**
 * Writes `header` and then zeros up to `declared` bytes as fast as the socket takes them, until
 * the peer closes the connection. Resolves with the bytes the kernel accepted and how long it took.
 */
function streamUntilClosed(socket: net.Socket, header: Buffer, declared: number): Promise<{ accepted: number; closed: boolean; ms: number }> {
  const started = performance.now();
  const chunk = Buffer.alloc(64 * 1024);
  let accepted = 0;
  let remaining = declared;
  return new Promise((resolve) => {
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      resolve({ accepted, closed, ms: Math.round(performance.now() - started) });
    };
    socket.on('error', () => {});
    socket.once('close', () => finish(true));
    const pump = () => {
      while (remaining > 0 && !socket.destroyed) {
        const piece = remaining >= chunk.length ? chunk : chunk.subarray(0, remaining);
        remaining -= piece.length;
        const ok = socket.write(piece, (error) => {
          if (!error) accepted += piece.length;
        });
        if (!ok) return void socket.once('drain', pump);
      }
      // Everything written: the peer did not close. Give it a moment, then report.
      setTimeout(() => finish(socket.destroyed), 2000);
    };
    socket.write(header, (error) => {
      if (!error) accepted += header.length;
    });
    pump();
  });
}

function rawConnection(url: string): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) }, () => resolve(socket));
    socket.once('error', reject);
  });
}

async function connectDevice(url: string, spec: FleetDeviceSpec, options: mqtt.IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { ...deviceMqttCredentials(spec.productKey, spec.deviceKey, spec.secret), protocolVersion: 4, reconnectPeriod: 0, ...options });
}

/** Sends an inform, QoS 1; resolves with the PUBACK's latency in milliseconds. */
function inform(client: MqttClient, spec: FleetDeviceSpec, id: string): Promise<number> {
  const started = performance.now();
  return client
    .publishAsync(otaTopic(spec.productKey, spec.deviceKey, 'inform'), encodeRequest('inform', id, { version: '1.0.0' }), { qos: 1 })
    .then(() => performance.now() - started);
}

async function counter(ts: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`${ts.server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

const quantile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];

describe('embedded broker limits', { timeout: 120_000 }, () => {
  let ts: TestServer;
  let fleet: TestFleet;
  const clients: MqttClient[] = [];
  beforeAll(async () => {
    ts = await startEngineServer({ mqttConnectTimeoutMs: 1000, mqttDeviceMessagesPerSecond: 20, mqttDeviceBurst: 20 });
    fleet = await setUpFleet(ts.server.services, { productKey: uniqueProductKey('lim'), count: 6 });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await ts?.close();
  });
  const device = async (i: number, options?: mqtt.IClientOptions) => {
    const client = await connectDevice(mqttUrlOf(ts), fleet.devices[i], options);
    clients.push(client);
    return client;
  };

  it("closes an authenticated device's 200 MiB PUBLISH as its header arrives, and the device can come back", async () => {
    const spec = fleet.devices[0];
    const client = await device(0);
    const topic = Buffer.from(otaTopic(spec.productKey, spec.deviceKey, 'inform'));
    const declared = 200 * MiB;
    // PUBLISH QoS 1: topic length, topic, message id, then the payload.
    const variable = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, Buffer.from([0, 1])]);
    const header = Buffer.concat([Buffer.from([0x32]), remainingLength(declared), variable]);
    const result = await streamUntilClosed(client.stream as net.Socket, header, declared - variable.length);
    console.log(`200 MiB PUBLISH: closed=${result.closed} after ${result.ms} ms, ${(result.accepted / MiB).toFixed(1)} MiB accepted by the kernel`);
    expect(result.closed).toBe(true);
    // What loopback's socket buffers hold, not what the broker buffered.
    expect(result.accepted).toBeLessThan(16 * MiB);
    expect(await counter(ts, 'updraft_mqtt_connections_closed_total{reason="packet_too_large"}')).toBeGreaterThanOrEqual(1);
    const again = await device(0);
    expect(await inform(again, spec, 'after-oversize')).toBeGreaterThan(0);
  });

  it('closes an unauthenticated 200 MiB CONNECT as its header arrives', async () => {
    const socket = await rawConnection(mqttUrlOf(ts));
    const declared = 200 * MiB;
    const result = await streamUntilClosed(socket, Buffer.concat([Buffer.from([0x10]), remainingLength(declared)]), declared);
    console.log(`200 MiB CONNECT: closed=${result.closed} after ${result.ms} ms, ${(result.accepted / MiB).toFixed(1)} MiB accepted by the kernel`);
    expect(result.closed).toBe(true);
    expect(result.accepted).toBeLessThan(16 * MiB);
    expect(await counter(ts, 'updraft_mqtt_connections_closed_total{reason="connect_too_large"}')).toBeGreaterThanOrEqual(1);
    // A CONNECT just over the pre-authentication limit (4 KiB by default) is refused the same way.
    const small = await rawConnection(mqttUrlOf(ts));
    const over = await streamUntilClosed(small, Buffer.concat([Buffer.from([0x10]), remainingLength(8192)]), 8192);
    expect(over.closed).toBe(true);
  });

  it('closes a connection that has not authenticated by the deadline', async () => {
    const idle = await rawConnection(mqttUrlOf(ts));
    // Half a CONNECT, then nothing (a slow-loris client).
    idle.write(Buffer.concat([Buffer.from([0x10]), remainingLength(100), Buffer.alloc(10)]));
    const started = performance.now();
    await new Promise((resolve) => idle.once('close', resolve));
    const ms = performance.now() - started;
    console.log(`half a CONNECT: closed after ${Math.round(ms)} ms (deadline 1000 ms)`);
    expect(ms).toBeGreaterThan(500);
  });

  it('keeps nothing a device sends: a retained PUBLISH closes its connection, a retained will is delivered unretained', async () => {
    const spec = fleet.devices[1];
    const presence = otaTopic(spec.productKey, spec.deviceKey, 'presence');
    const first = await device(1, { will: { topic: presence, payload: Buffer.from('{"online":false}'), qos: 1, retain: true } });
    const closed = new Promise<void>((resolve) => first.once('close', () => resolve()));
    first.publish(otaTopic(spec.productKey, spec.deviceKey, 'inform'), encodeRequest('inform', 'r1', { version: '1.0.0' }), { qos: 1, retain: true });
    await closed;
    expect(await counter(ts, 'updraft_mqtt_acl_denied_total{action="retain"}')).toBeGreaterThanOrEqual(1);
    // The will (retain set) went out when the connection closed. A new subscriber gets nothing retained.
    const second = await device(1);
    // A will still on its way when this subscribes may arrive live; a retained message is flagged so.
    const received: string[] = [];
    second.on('message', (topic, _payload, packet) => {
      if (packet.retain) received.push(topic);
    });
    await second.subscribeAsync([presence, otaTopic(spec.productKey, spec.deviceKey, 'inform')], { qos: 1 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(received).toEqual([]);
  });

  it('slows a device over its rate and keeps it connected', async () => {
    const spec = fleet.devices[2];
    const client = await device(2);
    const before = await counter(ts, 'updraft_mqtt_rate_limited_total{action="delayed"}');
    const started = performance.now();
    // 60 at once: 20 of burst, then 20 per second (2 s of waiting, under the 10 s that disconnects).
    const latencies = await Promise.all(Array.from({ length: 60 }, (_, i) => inform(client, spec, `s${i}`)));
    const ms = performance.now() - started;
    console.log(`60 informs at once at 20/s, burst 20: all acknowledged in ${Math.round(ms)} ms, last ack ${Math.round(Math.max(...latencies))} ms`);
    expect(await counter(ts, 'updraft_mqtt_rate_limited_total{action="delayed"}')).toBeGreaterThanOrEqual(before + 35);
    expect(client.connected).toBe(true);
  });

  it("disconnects (or slows) a device flooding 10,000 QoS 1 informs; another device's acknowledgements keep coming", async () => {
    const flooder = fleet.devices[3];
    const other = fleet.devices[4];
    const flood = await device(3);
    const calm = await device(4);
    const replies: string[] = [];
    calm.on('message', (_topic, payload) => replies.push(JSON.parse(payload.toString()).id));
    await calm.subscribeAsync(otaReplyTopic(other.productKey, other.deviceKey, 'inform'), { qos: 1 });
    const baseline: number[] = [];
    for (let i = 0; i < 10; i++) {
      baseline.push(await inform(calm, other, `b${i}`));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    let acked = 0;
    const started = performance.now();
    for (let i = 0; i < 10_000; i++) {
      flood.publish(otaTopic(flooder.productKey, flooder.deviceKey, 'inform'), encodeRequest('inform', `f${i}`, { version: '1.0.0' }), { qos: 1 }, (error) => {
        if (!error) acked++;
      });
    }
    const during: number[] = [];
    for (let i = 0; i < 15; i++) {
      during.push(await inform(calm, other, `d${i}`));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const seconds = (performance.now() - started) / 1000;
    const ackedDuring = acked;
    console.log(
      `flood of 10,000 QoS 1 informs: ${ackedDuring} acknowledged in ${seconds.toFixed(1)} s (flooder connected: ${flood.connected}); ` +
        `other device's ack p50/max ${quantile(baseline, 0.5).toFixed(1)}/${Math.max(...baseline).toFixed(1)} ms before, ` +
        `${quantile(during, 0.5).toFixed(1)}/${Math.max(...during).toFixed(1)} ms during`,
    );
    // The burst and the rate, not the 10,000 (slack for the acknowledgements in flight).
    expect(ackedDuring).toBeLessThanOrEqual(20 + 20 * seconds + 20);
    expect(await counter(ts, 'updraft_mqtt_rate_limited_total{action="delayed"}')).toBeGreaterThan(0);
    // 10,000 pipelined messages run up far more than 10 s of waiting: the flooder is cut off.
    await waitFor(() => !flood.connected, { what: 'the flooder to be disconnected', timeoutMs: 15_000 });
    expect(await counter(ts, 'updraft_mqtt_rate_limited_total{action="disconnected"}')).toBeGreaterThanOrEqual(1);
    // The other device: every message acknowledged and answered.
    await waitFor(() => replies.includes('d14'), { what: "the other device's last reply", timeoutMs: 30_000 });
    expect(calm.connected).toBe(true);
    flood.stream.destroy();
  });
});
