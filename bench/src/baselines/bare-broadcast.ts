/**
 * Baseline of scenario 3: a bare `ws` server in the same process broadcasting the very messages
 * Updraft's subscribers received (recorded from one of them), to the same number of clients, at the
 * same moments. No GraphQL, no subscriptions, no database: a socket write per client per message.
 */
import { performance } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface BareBroadcast {
  url: string;
  /** Sends each message to every client at its offset (ms) from now; resolves with each send's time. */
  replay(recording: { at: number; data: string }[]): Promise<number[]>;
  close(): Promise<void>;
}

export async function startBareBroadcast(): Promise<BareBroadcast> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async replay(recording) {
      const sentAt: number[] = [];
      const start = performance.now();
      for (const message of recording) {
        const wait = message.at - (performance.now() - start);
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
        sentAt.push(performance.timeOrigin + performance.now());
        // Encoded once, the same bytes to every client: the best a bare broadcast can do.
        const bytes = Buffer.from(message.data);
        for (const client of server.clients) client.send(bytes, { binary: false });
      }
      return sentAt;
    },
    async close() {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
