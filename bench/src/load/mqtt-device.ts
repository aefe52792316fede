/**
 * A lean MQTT 3.1.1 device connection for load generation: one TCP socket, mqtt-packet to encode and
 * parse, QoS 1 publishes resolved on their PUBACK, QoS 1 deliveries acknowledged at once. It speaks
 * the device protocol of DESIGN §4 exactly as the simulator does (client id, username, secret, will,
 * reply subscriptions), but costs a few microseconds per message instead of mqtt.js's tens, so that
 * on a 2-core machine the devices do not eat the CPU the server under test needs.
 */
import net from 'node:net';
import mqtt from 'mqtt-packet';

export interface DeviceIdentity {
  productKey: string;
  deviceKey: string;
  secret: string;
}

export interface DeviceConnectionOptions {
  host: string;
  port: number;
  /** Local address to connect from (spreads many connections over 127.0.0.x source ports). */
  localAddress?: string;
  keepaliveSeconds?: number;
  /** Give up a connection whose CONNACK or SUBACK has not come by then (default 15 s), as real MQTT clients do. */
  connectTimeoutMs?: number;
  onMessage?: (topic: string, payload: Buffer) => void;
  onClose?: () => void;
}

const namespace = (d: DeviceIdentity) => `/sys/${d.productKey}/${d.deviceKey}/`;
export const deviceTopic = (d: DeviceIdentity, kind: string) => `${namespace(d)}ota/device/${kind}`;

export class DeviceConnection {
  private socket: net.Socket | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, () => void>();
  /** Requests waiting for the server's reply, by request id. */
  private readonly replies = new Map<string, () => void>();
  private connack: ((code: number) => void) | null = null;
  private suback: (() => void) | null = null;
  closed = false;

  constructor(
    readonly device: DeviceIdentity,
    private readonly options: DeviceConnectionOptions,
  ) {}

  /** Opens the connection (with the device's presence will) and subscribes to its reply and command topics. */
  async open(): Promise<void> {
    const { host, port, localAddress } = this.options;
    const socket = net.connect({ host, port, localAddress });
    socket.setNoDelay(true);
    this.socket = socket;
    const parser = mqtt.parser({ protocolVersion: 4 });
    parser.on('packet', (packet) => this.onPacket(packet));
    parser.on('error', (error) => socket.destroy(error));
    socket.on('data', (data) => parser.parse(data));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.connack?.(-1);
      this.suback?.();
      this.options.onClose?.();
    });
    // A connect storm can overflow the server's accept queue: the kernel then drops the handshake's
    // last ACK, this side believes it is connected and its CONNECT goes unanswered for minutes. A
    // real client gives up after a timeout and connects again; so does this one.
    const timer = setTimeout(() => socket.destroy(new Error('connect timeout')), this.options.connectTimeoutMs ?? 15_000);
    try {
      await this.handshake(socket);
    } finally {
      clearTimeout(timer);
    }
  }

  private async handshake(socket: net.Socket): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const d = this.device;
    const code = await new Promise<number>((resolve) => {
      this.connack = resolve;
      this.write({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        clientId: `${d.productKey}.${d.deviceKey}`,
        username: `${d.productKey}&${d.deviceKey}`,
        password: Buffer.from(d.secret),
        keepalive: this.options.keepaliveSeconds ?? 600,
        will: { topic: deviceTopic(d, 'presence'), payload: Buffer.from('{"online":false}'), qos: 1, retain: false },
      });
    });
    this.connack = null;
    if (code !== 0) {
      socket.destroy();
      throw new Error(`${d.deviceKey}: CONNACK ${code}`);
    }
    await new Promise<void>((resolve) => {
      this.suback = resolve;
      this.write({
        cmd: 'subscribe',
        messageId: this.takeId(),
        subscriptions: ['upgrade', 'cancel', 'inform_reply', 'progress_reply', 'getversion_reply'].map((kind) => ({
          topic: deviceTopic(d, kind),
          qos: 1 as const,
        })),
      });
    });
    this.suback = null;
    if (this.closed) throw new Error(`${d.deviceKey}: connection closed before SUBACK`);
  }

  /** QoS 1 publish; resolves when the broker's PUBACK arrives (for the embedded broker: after the commit). */
  publish(topic: string, payload: Buffer | string): Promise<void> {
    const messageId = this.takeId();
    return new Promise<void>((resolve, reject) => {
      if (this.closed) return reject(new Error('connection closed'));
      this.pending.set(messageId, resolve);
      this.write({ cmd: 'publish', topic, payload, qos: 1, messageId, retain: false, dup: false });
    });
  }

  /**
   * A device request (`{id, version, method, params}`) on its kind's topic. Resolves when it is
   * acknowledged: on its PUBACK and, with `reply`, also on the server's reply to it (an external
   * broker PUBACKs at once; the server's 200 reply comes after the commit).
   */
  request(kind: 'inform' | 'progress' | 'getversion', id: string, params: Record<string, unknown>, reply = false): Promise<void> {
    const published = this.publish(deviceTopic(this.device, kind), JSON.stringify({ id, version: '1.0', method: `ota.device.${kind}`, params }));
    if (!reply) return published;
    const replied = new Promise<void>((resolve) => this.replies.set(id, resolve));
    return Promise.all([published, replied]).then(() => undefined);
  }

  /** A reply to a command the server sent (e.g. accepting an upgrade push). */
  reply(kind: 'upgrade' | 'cancel', id: string, code = 200): Promise<void> {
    return this.publish(deviceTopic(this.device, `${kind}_reply`), JSON.stringify({ id, code, data: {} }));
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** A clean DISCONNECT (no will). */
  end(): void {
    if (this.closed || !this.socket) return;
    this.write({ cmd: 'disconnect' });
    this.socket.end();
  }

  destroy(): void {
    this.socket?.destroy();
  }

  private takeId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id === 65535 ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
  }

  private write(packet: mqtt.Packet): void {
    if (this.socket && !this.socket.destroyed) this.socket.write(mqtt.generate(packet));
  }

  private onPacket(packet: mqtt.Packet): void {
    switch (packet.cmd) {
      case 'connack':
        this.connack?.(packet.returnCode ?? 0);
        return;
      case 'suback':
        this.suback?.();
        this.suback = null;
        return;
      case 'puback': {
        const done = this.pending.get(packet.messageId!);
        this.pending.delete(packet.messageId!);
        done?.();
        return;
      }
      case 'publish': {
        if (packet.qos > 0) this.write({ cmd: 'puback', messageId: packet.messageId! });
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        if (this.replies.size > 0 && packet.topic.endsWith('_reply')) {
          const id = /"id":"([^"]*)"/.exec(payload.toString('latin1'))?.[1];
          const waiting = id === undefined ? undefined : this.replies.get(id);
          if (waiting) {
            this.replies.delete(id!);
            waiting();
          }
        }
        this.options.onMessage?.(packet.topic, payload);
        return;
      }
      default:
        return;
    }
  }
}

/**
 * Opens many device connections at a bounded rate and concurrency, spreading them over loopback
 * source addresses so that tens of thousands of connections do not run out of ephemeral ports.
 */
export async function openDevices(
  devices: readonly DeviceIdentity[],
  options: Omit<DeviceConnectionOptions, 'localAddress'> & {
    concurrency?: number;
    onMessageOf?: (device: DeviceIdentity) => (topic: string, payload: Buffer) => void;
  },
): Promise<DeviceConnection[]> {
  const connections: DeviceConnection[] = new Array(devices.length);
  let next = 0;
  const localHost = options.host === '127.0.0.1' || options.host === 'localhost';
  const worker = async () => {
    for (let i = next++; i < devices.length; i = next++) {
      for (let attempt = 1; ; attempt++) {
        const connection = new DeviceConnection(devices[i], {
          ...options,
          localAddress: localHost ? `127.0.0.${1 + (i % 8)}` : undefined,
          onMessage: options.onMessageOf?.(devices[i]) ?? options.onMessage,
        });
        try {
          await connection.open();
          connections[i] = connection;
          break;
        } catch (error) {
          connection.destroy();
          if (attempt >= 5) throw error;
          await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 100, devices.length) }, worker));
  return connections;
}
