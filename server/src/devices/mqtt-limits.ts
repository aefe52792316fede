/**
 * Limits of the embedded broker that aedes and mqtt-packet do not have (docs/engine.md, "Limits"):
 *
 * - Packet size. mqtt-packet buffers a packet until all of its declared remaining length has
 *   arrived, however large that is: a 200 MiB PUBLISH was held whole and then acknowledged. The
 *   size a packet will have is in its fixed header, so `PacketSizeGuard` reads the framing of the
 *   connection's byte stream as aedes reads it and closes the connection as soon as a header
 *   declares more than the limit, holding at most the chunk that carried the header.
 * - Before authentication, a smaller limit (a CONNECT carries ids, a secret and a small will) and a
 *   deadline: a client that has not completed authentication by then is closed.
 * - Message rate per connection (one connection per device: the client id is the device): a token
 *   bucket. A message over the rate waits for its token before it is processed, which holds aedes'
 *   reading of that connection (it reads on only once a batch of packets is handled), so a flood
 *   slows itself down through TCP and nobody else waits for it. A device that runs up more than
 *   `maxDebtSeconds` of waiting is disconnected.
 */
import type { Socket } from 'node:net';

export interface MqttLimits {
  /** Largest packet (fixed header included) of an authenticated connection, in bytes. */
  maxPacketBytes: number;
  /** Largest packet before the connection is authenticated (the CONNECT), in bytes. */
  maxConnectBytes: number;
  /** A connection not authenticated this long after it opened is closed. */
  connectTimeoutMs: number;
  /** Messages per second a device may publish, sustained (0: no limit). */
  messagesPerSecond: number;
  /** Messages a device may publish at once above the sustained rate. */
  burst: number;
}

/** Throttled messages queued for longer than this disconnect their device. */
const MAX_DEBT_SECONDS = 10;

type Violation = 'packet_too_large' | 'connect_too_large' | 'malformed_length' | 'connect_timeout';

/**
 * Follows the MQTT framing of what is read from `socket` (fixed header byte, remaining length as a
 * variable byte integer, then that many bytes) without copying it. Attach after aedes has attached
 * its 'readable' listener: a 'data' listener then sees each chunk as aedes reads it, before
 * mqtt-packet does, and does not switch the socket to flowing mode.
 */
export class PacketSizeGuard {
  private authenticated = false;
  private state: 'header' | 'length' | 'body' = 'header';
  private length = 0;
  private lengthBytes = 0;
  private toSkip = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly socket: Socket,
    private readonly limits: MqttLimits,
    private readonly onViolation: (why: Violation) => void,
  ) {
    socket.on('data', (chunk: Buffer) => this.scan(chunk));
    this.timer = setTimeout(() => {
      if (!this.authenticated) this.close('connect_timeout');
    }, limits.connectTimeoutMs);
    this.timer.unref();
    socket.once('close', () => clearTimeout(this.timer));
  }

  /** The CONNECT's credentials were accepted: the deadline is met and the larger limit applies. */
  markAuthenticated(): void {
    this.authenticated = true;
    clearTimeout(this.timer);
  }

  private close(why: Violation): void {
    if (this.socket.destroyed) return;
    this.onViolation(why);
    this.socket.destroy();
  }

  private scan(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && !this.socket.destroyed) {
      if (this.state === 'body') {
        const n = Math.min(this.toSkip, chunk.length - i);
        this.toSkip -= n;
        i += n;
        if (this.toSkip === 0) this.state = 'header';
      } else if (this.state === 'header') {
        i++;
        this.state = 'length';
        this.length = 0;
        this.lengthBytes = 0;
      } else {
        const byte = chunk[i++];
        this.length += (byte & 0x7f) * 128 ** this.lengthBytes;
        this.lengthBytes++;
        if (byte & 0x80) {
          // At most four length bytes (MQTT 3.1.1 §2.2.3).
          if (this.lengthBytes === 4) {
            this.close('malformed_length');
            return;
          }
          continue;
        }
        const limit = this.authenticated ? this.limits.maxPacketBytes : this.limits.maxConnectBytes;
        if (1 + this.lengthBytes + this.length > limit) {
          this.close(this.authenticated ? 'packet_too_large' : 'connect_too_large');
          return;
        }
        this.toSkip = this.length;
        this.state = this.length === 0 ? 'header' : 'body';
      }
    }
  }
}

/** A token bucket of one connection's publishes. */
export class MessageRate {
  private tokens: number;
  private updatedAt = performance.now();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = Math.max(1, burst);
  }

  /**
   * Takes a token: 0 when one was there, else how many milliseconds the message must wait for its
   * own (tokens go negative: each waiting message has reserved its place); null when the wait
   * would exceed MAX_DEBT_SECONDS (the device is flooding: disconnect it).
   */
  take(): number | null {
    if (this.perSecond <= 0) return 0;
    const now = performance.now();
    this.tokens = Math.min(Math.max(1, this.burst), this.tokens + ((now - this.updatedAt) / 1000) * this.perSecond);
    this.updatedAt = now;
    const waitMs = this.tokens >= 1 ? 0 : ((1 - this.tokens) / this.perSecond) * 1000;
    if (waitMs > MAX_DEBT_SECONDS * 1000) return null;
    this.tokens -= 1;
    return waitMs;
  }
}
