/**
 * The gateway as a client of an external broker (MQTT_URL: Mosquitto, EMQX…), for one or many
 * server instances.
 *
 * - Subscriptions are shared (`$share/updraft/…`, MQTT 5): the broker hands each device message to
 *   one instance of the group, so instances split the device traffic.
 * - Acknowledgement: our PUBACK to the broker is sent only once the report's batch has committed.
 *   mqtt.js sends the PUBACK when `handleMessage` calls back, but it also waits for that callback
 *   before it reads the next packet, which would allow one report per transaction. So
 *   `handleMessage` calls back at once with a marker error (mqtt.js then sends no PUBACK and reads
 *   on) and the PUBACK is sent by hand after the commit, on the same connection only: after a
 *   reconnect the broker re-delivers what was not acknowledged (persistent session), and the
 *   gateway's writes are idempotent.
 * - Brokers let a subscriber hold only a few unacknowledged messages (Mosquitto: 20), which bounds
 *   a batch; so an instance opens MQTT_CONNECTIONS members of the group (default 4).
 * - With INSTANCE_ID set, the sessions are persistent (clean start off, expiry 10 minutes) under
 *   the client ids `updraft-{INSTANCE_ID}-{n}`: a restarted instance gets the reports that were in
 *   flight or queued for it when it died. Without it, each process has fresh sessions.
 * - Presence: the broker publishes a device's will when its connection drops. The gateway cannot
 *   see connections here, and instances may process a will and the device's next inform in either
 *   order; a will therefore counts only when the device has not been heard from in the last
 *   PRESENCE_GRACE_MS before it arrived (see docs/engine.md).
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { type Logger, redactUrl } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { otaTopicFilter } from './protocol.js';
import type { DeviceTransport, InboundHandler } from './transport.js';

/** Device → cloud topics the gateway consumes. */
const INBOUND_TOPICS = [
  otaTopicFilter('inform'),
  otaTopicFilter('progress'),
  otaTopicFilter('getversion'),
  otaTopicFilter('presence'),
  otaTopicFilter('upgrade', true),
  otaTopicFilter('cancel', true),
];

export interface ExternalBrokerOptions {
  url: string;
  /** Instances of one deployment use the same group. */
  shareGroup: string;
  /** Members of the group this instance opens (each may hold the broker's in-flight window of messages). */
  connections: number;
  instanceId: string | undefined;
  /** How long the broker keeps a persistent member's session after it went away (INSTANCE_ID only). */
  sessionExpirySeconds: number;
  metrics: Metrics;
  onMessage: InboundHandler;
  log: Logger;
}

class DeferredAck extends Error {
  constructor() {
    super('acknowledged after the commit');
  }
}

export async function connectExternalBroker(options: ExternalBrokerOptions): Promise<DeviceTransport> {
  const members = await Promise.all(Array.from({ length: Math.max(1, options.connections) }, (_, i) => connectOne(options, i)));
  const clients = members.map((m) => m.client);
  let next = 0;
  return {
    mode: 'external',
    deviceUrl: options.url,
    connectedForMs() {
      const now = performance.now();
      return Math.min(...members.map((m) => (m.upSince === null ? 0 : now - m.upSince)));
    },
    publish(topic, payload) {
      // Commands and replies go out over the connections in turn.
      const client = clients[next++ % clients.length];
      client.publish(topic, payload, { qos: 1 }, (error) => {
        if (error) {
          options.metrics.mqttPublishErrors.inc();
          options.log.warn({ topic, err: error }, 'mqtt publish failed');
        }
      });
    },
    async close() {
      await Promise.all(clients.map((client) => client.endAsync(false).catch(() => client.endAsync(true))));
    },
  };
}

interface Member {
  client: MqttClient;
  /** performance.now() when it last became subscribed; null while away. */
  upSince: number | null;
}

/** One member of the shared-subscription group, with the deferred PUBACKs described above. */
async function connectOne(options: ExternalBrokerOptions, index: number): Promise<Member> {
  const { metrics, log } = options;
  const persistent = !!options.instanceId;
  const filters = INBOUND_TOPICS.map((filter) => `$share/${options.shareGroup}/${filter}`);
  const clientId = `updraft-${options.instanceId ?? randomBytes(6).toString('hex')}-${index}`;
  const client: MqttClient = mqtt.connect(options.url, {
    clientId,
    protocolVersion: 5,
    clean: !persistent,
    properties: persistent ? { sessionExpiryInterval: options.sessionExpirySeconds } : undefined,
    // Back soon after the broker: with persistent sessions nothing is lost meanwhile, but devices wait.
    reconnectPeriod: 100,
    connectTimeout: 10_000,
    resubscribe: false,
  });
  /** Bumped on every (re)connect: a PUBACK belongs to the connection that received the message. */
  let connection = 0;
  const member: Member = { client, upSince: null };

  client.handleMessage = (packet, callback) => {
    const publish = packet as IPublishPacket;
    const received = connection;
    const messageId = publish.messageId;
    options.onMessage({
      topic: publish.topic,
      payload: Buffer.isBuffer(publish.payload) ? publish.payload : Buffer.from(publish.payload),
      receivedAt: new Date(),
      ack: () => {
        if (publish.qos !== 1 || messageId === undefined || received !== connection || !client.connected) return;
        (client as unknown as { _sendPacket(packet: object, cb: () => void): void })._sendPacket({ cmd: 'puback', messageId }, () => {});
      },
    });
    callback(publish.qos === 1 ? new DeferredAck() : undefined);
  };

  const subscribe = () =>
    client.subscribeAsync(filters, { qos: 1 }).then((granted) => {
      const refused = granted.filter((g) => g.qos > 2);
      if (refused.length > 0) throw new Error(`broker refused ${refused.map((g) => g.topic).join(', ')}`);
    });

  let subscribed: Promise<void> = new Promise(() => {});
  /** Errors while the broker is away are logged once per outage, not once per reconnect attempt. */
  let quiet = false;
  client.on('connect', (connack) => {
    connection++;
    if (connection > 1) {
      metrics.mqttReconnects.inc();
      log.info(
        { connection: index, broker: redactUrl(options.url), session: persistent ? (connack.sessionPresent ? 'kept' : 'lost') : 'clean' },
        'mqtt connection back',
      );
      if (persistent && !connack.sessionPresent) {
        // The broker forgot the session (restarted without persistence, or it expired): reports sent
        // to the group while no member was subscribed are gone; the re-push brings those devices on.
        metrics.mqttSessionsLost.inc();
      }
    }
    quiet = false;
    const current = connection;
    subscribed = subscribe().then(() => {
      if (current === connection && client.connected) member.upSince = performance.now();
    });
    subscribed.catch((error: Error) => log.error({ err: error }, 'mqtt subscribe failed'));
  });
  client.on('error', (error) => {
    metrics.mqttClientErrors.inc();
    if (!quiet) log.warn({ err: error }, 'mqtt client error');
    quiet = true;
  });
  client.on('close', () => {
    member.upSince = null;
  });
  client.on('offline', () => {
    if (!quiet) log.warn({ connection: index, broker: redactUrl(options.url) }, 'mqtt connection lost, reconnecting');
    quiet = true;
  });

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cannot connect to the MQTT broker at ${redactUrl(options.url)}`)), 15_000);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
  })
    .then(() => subscribed)
    .catch(async (error) => {
      await client.endAsync(true);
      throw error;
    });
  return member;
}
