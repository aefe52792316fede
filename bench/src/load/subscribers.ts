/**
 * Worker: many graphql-ws subscribers (protocol graphql-transport-ws, spoken directly over `ws`),
 * or, for the baseline, many bare WebSocket clients of a broadcast server. Every client counts the
 * messages and bytes it receives; a few "probe" clients also parse every message and record when
 * each device state arrived, for latency. (Parsing in all 1,000 clients would measure this process's
 * JSON.parse, not the server.)
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { serve } from '../workers.js';

const now = () => performance.timeOrigin + performance.now();

interface Device {
  deviceKey: string;
  progress: number;
  status: string;
}

interface Client {
  socket: WebSocket;
  probe: boolean;
  messages: number;
  bytes: number;
  errors: string[];
}

let clients: Client[] = [];
/** Probe receipts: deviceKey → progress → first arrival time (ms), per probe. */
let receipts: Map<string, Map<number, number>>[] = [];
/** Latest state per device as the first probe sees it (for the no-loss check). */
let latest = new Map<string, Device>();
/** Raw messages of the first probe, with their arrival offsets (for the baseline's replay). */
let recording: { at: number; data: string }[] = [];
let recordingStarted = 0;
let recordingOn = false;
/** Arrival times of every data message, per probe, since the last reset (for the baseline's latency). */
let arrivals: number[][] = [];

function onProbeMessage(probe: number, data: string): void {
  if (data[0] !== '{') return;
  const message = JSON.parse(data) as { type: string; id?: string; payload?: { data?: { jobDeviceUpdates?: { devices: Device[] } }; errors?: unknown[] } };
  const at = now();
  if (message.type === 'next') {
    const devices = message.payload?.data?.jobDeviceUpdates?.devices ?? [];
    for (const d of devices) {
      let byProgress = receipts[probe].get(d.deviceKey);
      if (!byProgress) receipts[probe].set(d.deviceKey, (byProgress = new Map()));
      if (!byProgress.has(d.progress)) byProgress.set(d.progress, at);
      if (probe === 0) latest.set(d.deviceKey, d);
    }
    if (probe === 0 && recordingOn) recording.push({ at: at - recordingStarted, data });
    if (message.payload?.errors) clients[probe].errors.push(JSON.stringify(message.payload.errors).slice(0, 300));
  } else if (message.type === 'error') {
    clients[probe].errors.push(JSON.stringify(message).slice(0, 300));
  }
}

function open(url: string, protocol: string | undefined, probe: boolean, index: number, onOpen: (socket: WebSocket) => void): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = protocol ? new WebSocket(url, protocol, { perMessageDeflate: false }) : new WebSocket(url, { perMessageDeflate: false });
    const client: Client = { socket, probe, messages: 0, bytes: 0, errors: [] };
    socket.on('message', (raw: Buffer) => {
      client.messages++;
      client.bytes += raw.length;
      if (raw.length < 80) {
        // Control messages are short: connection_ack, ping, complete.
        const text = raw.toString();
        if (text.includes('"connection_ack"')) return resolve(client);
        if (text.includes('"ping"')) return void socket.send('{"type":"pong"}');
        if (text.includes('"complete"') || text.includes('"error"')) client.errors.push(text);
      }
      if (probe) {
        (arrivals[index] ??= []).push(now());
        onProbeMessage(index, raw.toString());
      }
    });
    socket.on('error', (error) => reject(error));
    socket.on('close', (code) => client.errors.push(`closed ${code}`));
    socket.on('open', () => {
      onOpen(socket);
      if (!protocol) resolve(client);
    });
  });
}

serve({
  /** graphql-ws clients, each subscribed to every operation given. */
  async openGraphql(args: { url: string; token: string; count: number; probes: number; operations: { query: string; variables: Record<string, unknown> }[] }) {
    receipts = [];
    latest = new Map();
    const started = now();
    const batch = 50;
    for (let i = 0; i < args.count; i += batch) {
      const opened = await Promise.all(
        Array.from({ length: Math.min(batch, args.count - i) }, (_, j) => {
          const index = i + j;
          const probe = index < args.probes;
          if (probe) receipts[index] = new Map();
          return open(args.url, 'graphql-transport-ws', probe, index, (socket) =>
            socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${args.token}` } })),
          );
        }),
      );
      for (const client of opened) {
        args.operations.forEach((op, k) => {
          client.socket.send(JSON.stringify({ id: String(k + 1), type: 'subscribe', payload: op }));
        });
        clients.push(client);
      }
    }
    return { opened: clients.length, ms: now() - started };
  },

  /** Bare WebSocket clients of the baseline's broadcast server. */
  async openBare(args: { url: string; count: number; probes: number }) {
    receipts = [];
    latest = new Map();
    const batch = 100;
    for (let i = 0; i < args.count; i += batch) {
      clients.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(batch, args.count - i) }, (_, j) => {
            const index = i + j;
            if (index < args.probes) receipts[index] = new Map();
            return open(args.url, undefined, index < args.probes, index, () => {});
          }),
        )),
      );
    }
    return { opened: clients.length };
  },

  /** Zeroes the counters (and starts recording the first probe's messages). */
  reset(args: { record?: boolean } = {}) {
    for (const c of clients) {
      c.messages = 0;
      c.bytes = 0;
    }
    for (const r of receipts) r?.clear();
    arrivals = [];
    recording = [];
    recordingOn = !!args.record;
    recordingStarted = now();
    return null;
  },

  counts() {
    return {
      messages: clients.reduce((n, c) => n + c.messages, 0),
      bytes: clients.reduce((n, c) => n + c.bytes, 0),
      errors: clients.flatMap((c) => c.errors).slice(0, 10),
      minMessages: Math.min(...clients.map((c) => c.messages)),
    };
  },

  /** The probes' arrival times of (deviceKey, progress) states. */
  receipts() {
    return receipts.map((byKey) => Object.fromEntries([...byKey].map(([key, byProgress]) => [key, Object.fromEntries(byProgress)])));
  },

  arrivals() {
    return arrivals;
  },

  latest() {
    return Object.fromEntries([...latest].map(([key, d]) => [key, d.progress]));
  },

  recording() {
    recordingOn = false;
    return recording;
  },

  async close() {
    for (const c of clients) c.socket.terminate();
    clients = [];
    return null;
  },
});
