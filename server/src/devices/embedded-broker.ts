/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1) used when MQTT_URL is not set: one server instance
 * is then also the fleet's broker.
 *
 * - CONNECT: client id `{pk}.{dk}`, username `{pk}&{dk}` naming the same device, password = its
 *   secret (checked against the stored hash). Anything else is refused (return code 4 or 5).
 * - A device may publish and subscribe only under its own `/sys/{pk}/{dk}/`; a publish outside it
 *   closes the connection, a subscription outside it is refused in the SUBACK (0x80).
 * - Acknowledgement: aedes sends the PUBACK of a QoS 1 publish right after `authorizePublish`
 *   returns, so the gateway does its work inside that hook and lets it return only once the
 *   report's batch has committed. An acknowledged report is therefore in the database, also when
 *   the process dies right after; an unacknowledged one is re-sent by the device (QoS 1).
 * - Presence is exact here, because the broker sees connections: a will (or a disconnect) of a
 *   connection that has already been replaced by a newer one of the same device is dropped, and
 *   every disconnect is turned into the same offline event as a will, in arrival order with the
 *   device's other messages.
 */
import net from 'node:net';
import type { Writable } from 'node:stream';
import { Aedes, type Client } from 'aedes';
import { and, eq } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { devices, products } from '../db/schema.js';
import { secretMatches } from '../domain/secrets.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { MessageRate, type MqttLimits, PacketSizeGuard } from './mqtt-limits.js';
import { encodePresence, isInDeviceNamespace, otaTopic, parseDeviceClientId, parseDeviceUsername, parseOtaTopic, type DeviceAddress } from './protocol.js';
import type { DeviceTransport, InboundHandler } from './transport.js';

export interface EmbeddedBrokerOptions {
  db: Database;
  host: string;
  /** Preferred port; when it is taken a free one is used and logged. */
  port: number;
  metrics: Metrics;
  /** Packet sizes, CONNECT deadline, message rate (mqtt-limits.ts). */
  limits: MqttLimits;
  onMessage: InboundHandler;
  log: Logger;
}

export interface EmbeddedBroker extends DeviceTransport {
  readonly port: number;
}

/** What `publish` uses of an aedes client beyond its typings. */
type DirectClient = Client & {
  connected: boolean;
  closed: boolean;
  clean: boolean;
  subscriptions?: Record<string, { qos: number } | undefined>;
  publish(packet: object, done: (error?: Error | null) => void): void;
};

class AuthError extends Error {
  constructor(
    message: string,
    readonly returnCode: number,
  ) {
    super(message);
  }
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { db, metrics, log } = options;
  const { limits } = options;
  const addressOf = new WeakMap<Client, DeviceAddress>();
  const guards = new WeakMap<object, PacketSizeGuard>();
  const rates = new WeakMap<Client, MessageRate>();
  const broker = new Aedes({
    // Client ids are `{productKey}.{deviceKey}`: up to 129 characters.
    maxClientsIdLength: 200,
    // Deliveries held while reports commit must not starve the broker's message pipeline.
    concurrency: 10_000,
    heartbeatInterval: 3_600_000,
    // The guard's deadline covers authentication too; this one only the CONNECT's arrival.
    connectTimeout: limits.connectTimeoutMs,
  });
  const clients = () => (broker as unknown as { clients: Record<string, Client | undefined> }).clients;
  metrics.countDevicesConnected(() => (broker as unknown as { connectedClients: number }).connectedClients);

  // Refusals are logged, a few lines a second at most: a fleet with a wrong secret must not flood the log.
  let refusalBudget = { second: 0, lines: 0 };
  const refused = (reason: 'bad_identity' | 'bad_secret' | 'unknown_device', clientId: string) => {
    metrics.mqttConnectRefused.inc({ reason });
    const now = Math.floor(Date.now() / 1000);
    if (refusalBudget.second !== now) refusalBudget = { second: now, lines: 0 };
    if (++refusalBudget.lines <= 5) log.warn({ clientId: clientId.slice(0, 130), reason }, 'device connection refused');
  };

  broker.authenticate = (client, username, password, callback) => {
    const fromId = parseDeviceClientId(client.id);
    const fromUser = username ? parseDeviceUsername(username) : null;
    if (!fromId || !fromUser || fromId.productKey !== fromUser.productKey || fromId.deviceKey !== fromUser.deviceKey || !password) {
      refused('bad_identity', client.id);
      return callback(new AuthError('client id and username must name the same device', 4), false);
    }
    db.select({ secretHash: devices.secretHash })
      .from(devices)
      .innerJoin(products, eq(products.id, devices.productId))
      .where(and(eq(products.productKey, fromId.productKey), eq(devices.deviceKey, fromId.deviceKey)))
      .then(([device]) => {
        if (!device || !secretMatches(password.toString('utf8'), device.secretHash)) {
          refused(device ? 'bad_secret' : 'unknown_device', client.id);
          return callback(new AuthError('unknown device or wrong secret', 4), false);
        }
        addressOf.set(client, fromId);
        guards.get((client as unknown as { conn: object }).conn)?.markAuthenticated();
        rates.set(client, new MessageRate(limits.messagesPerSecond, limits.burst));
        metrics.mqttConnects.inc();
        callback(null, true);
      })
      .catch((error: Error) => {
        log.error({ clientId: client.id.slice(0, 130), err: error }, 'device authentication failed on a database error');
        callback(new AuthError('server unavailable', 3), false);
      });
  };

  broker.authorizeSubscribe = (client, subscription, callback) => {
    const address = client ? addressOf.get(client) : undefined;
    if (!address || !isInDeviceNamespace(subscription.topic, address.productKey, address.deviceKey)) {
      metrics.mqttAclDenied.inc({ action: 'subscribe' });
      return callback(null, null as never);
    }
    callback(null, subscription);
  };

  /** A will or disconnect of a connection that a newer connection of the same device replaced. */
  const isSuperseded = (client: Client) => {
    const current = clients()[client.id];
    return current !== undefined && current !== client;
  };

  broker.authorizePublish = (client, packet, callback) => {
    // Our own commands to devices (published through broker.publish) come without a client.
    if (!client) return callback(null);
    const address = addressOf.get(client);
    if (!address || !isInDeviceNamespace(packet.topic, address.productKey, address.deviceKey)) {
      metrics.mqttAclDenied.inc({ action: 'publish' });
      return callback(new Error(`publish outside the device's namespace: ${packet.topic.slice(0, 200)}`));
    }
    const isWill = packet === (client as unknown as { will?: unknown }).will;
    if (isWill && isSuperseded(client)) {
      metrics.devicePresenceIgnored.inc({ why: 'superseded' });
      return callback(null);
    }
    if (packet.retain) {
      // Nothing a device sends is kept for later subscribers. A will has no connection left to
      // refuse: it is delivered, not stored; a retained PUBLISH closes the connection, as
      // Mosquitto's retain_available false does.
      metrics.mqttAclDenied.inc({ action: 'retain' });
      if (!isWill) return callback(new Error('retained messages are not accepted'));
      packet.retain = false;
    }
    if (isWill) return deliver(client, packet, callback);
    const rate = rates.get(client);
    const waitMs = rate ? rate.take() : 0;
    if (waitMs === null) {
      metrics.mqttRateLimited.inc({ action: 'disconnected' });
      return callback(new Error(`more than ${limits.messagesPerSecond} messages per second, for too long`));
    }
    if (waitMs === 0) return deliver(client, packet, callback);
    metrics.mqttRateLimited.inc({ action: 'delayed' });
    setTimeout(() => {
      if (client.closed) return callback(new Error('connection closed'));
      deliver(client, packet, callback);
    }, waitMs);
  };

  const deliver = (client: Client, packet: Parameters<typeof broker.authorizePublish>[1], callback: (error?: Error | null) => void) => {
    options.onMessage({
      topic: packet.topic,
      payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
      receivedAt: new Date(),
      ack: () => {
        holdWrites(client);
        callback(null);
      },
    });
  };

  // A batch acknowledges hundreds of reports at once, and each device gets a PUBACK and a reply
  // (the gateway acknowledges first, then replies, in the same turn): corking the connection sends
  // both in one write instead of a syscall each. The PUBACK is written at once, the reply from a
  // setImmediate of aedes (deliverQoS) queued in the same turn: uncorked one turn later, after it.
  const corked = new Set<Writable>();
  const uncorkAll = () => {
    for (const conn of corked) conn.uncork();
    corked.clear();
  };
  const holdWrites = (client: Client) => {
    const conn = (client as unknown as { conn?: Writable }).conn;
    if (!conn || conn.destroyed || corked.has(conn) || typeof conn.cork !== 'function') return;
    if (corked.size === 0) setImmediate(() => setImmediate(uncorkAll));
    conn.cork();
    corked.add(conn);
  };

  /** The connected clean-session client subscribed to exactly `topic`, if its device is the topic's. */
  const directTarget = (topic: string): DirectClient | undefined => {
    const parsed = parseOtaTopic(topic);
    if (!parsed) return undefined;
    const client = clients()[`${parsed.productKey}.${parsed.deviceKey}`] as DirectClient | undefined;
    if (!client?.connected || client.closed || client.clean !== true || !client.subscriptions?.[topic]) return undefined;
    return client;
  };

  // A connection that ends without a will (a clean DISCONNECT) still means the device is offline.
  broker.on('clientDisconnect', (client) => {
    const address = addressOf.get(client);
    if (!address || isSuperseded(client)) return;
    options.onMessage({
      topic: otaTopic(address.productKey, address.deviceKey, 'presence'),
      payload: encodePresence(),
      receivedAt: new Date(),
      ack: () => {},
    });
  });
  broker.on('clientError', (client, error) => {
    metrics.mqttClientErrors.inc();
    if (!/ECONNRESET|EPIPE|connection closed/.test(error.message)) log.debug({ clientId: client.id.slice(0, 130), err: error }, 'device connection error');
  });

  await broker.listen();
  // No Nagle: a PUBACK or reply written while an earlier small write is unacknowledged would
  // otherwise wait for the device's delayed ACK (~40 ms on Linux), and the device for it.
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    (broker.handle as (socket: net.Socket) => void)(socket);
    guards.set(socket, new PacketSizeGuard(socket, limits, (why) => metrics.mqttConnectionsClosed.inc({ reason: why })));
  });
  const port = await listenWithFallback(server, options.host, options.port, log);
  log.info({ port }, 'embedded MQTT broker listening');
  const startedAt = performance.now();
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;

  return {
    mode: 'embedded',
    port,
    connectedForMs: () => performance.now() - startedAt,
    deviceUrl: `mqtt://${host}:${port}`,
    publish(topic, payload) {
      if (broker.closed) return;
      const packet = { cmd: 'publish' as const, topic, payload, qos: 1 as const, retain: false, dup: false };
      const done = (error?: Error | null) => {
        if (error) {
          metrics.mqttPublishErrors.inc();
          log.warn({ topic, err: error }, 'embedded broker publish failed');
        }
      };
      // Only the device itself may subscribe under its namespace. When it is connected with a clean
      // session and subscribed to exactly this topic, hand the message to its connection: the same
      // delivery (its subscription's QoS, message ids, retries) without matching the topic against
      // every subscription twice (live and offline) per reply. Anything else goes the general way.
      const target = directTarget(topic);
      if (target) target.publish(packet, done);
      else broker.publish(packet, done);
    },
    async close() {
      metrics.countDevicesConnected(null);
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Listens on `port`; if another process holds it (Mosquitto on 1883, say), on a free port instead. */
async function listenWithFallback(server: net.Server, host: string, port: number, log: Logger): Promise<number> {
  const attempt = (p: number) =>
    new Promise<number>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        server.off('listening', onListening);
        reject(error);
      };
      const onListening = () => {
        server.off('error', onError);
        resolve((server.address() as net.AddressInfo).port);
      };
      server.once('error', onError);
      server.once('listening', onListening);
      // A deep accept queue: after a restart a whole fleet reconnects at once, and connections the
      // queue cannot hold are dropped by the kernel until the devices time out and try again.
      server.listen({ port: p, host, backlog: 4096 });
    });
  try {
    return await attempt(port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw error;
    const actual = await attempt(0);
    log.warn(
      `\n*** MQTT_PORT ${port} is already in use (another broker?): the embedded MQTT broker listens on port ${actual} instead. ***\n` +
        `*** Devices must connect to mqtt://<this host>:${actual}, or set MQTT_URL to use the other broker. ***\n`,
    );
    return actual;
  }
}
