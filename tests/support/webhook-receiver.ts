/**
 * A real webhook receiver: a node http server on 127.0.0.1 that verifies every request with the
 * standardwebhooks library (as an integrator's receiver would) and records what it got. It can be
 * taken down (its port closed: connections refused) and brought back on the same port, or told to
 * answer with a given status.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  id: string;
  timestamp: number;
  signature: string;
  body: string;
  payload: { type: string; timestamp: string; data: Record<string, any> };
  /** Which of the receiver's secrets verified it (index into `secrets`), or -1 for none. */
  verifiedWith: number[];
  receivedAt: number;
  path: string;
}

export interface WebhookReceiver {
  url: string;
  port: number;
  received: ReceivedWebhook[];
  /** Secrets the receiver verifies against (each request is checked against every one). */
  secrets: string[];
  /** Milliseconds before answering (a receiver that does some work). */
  delayMs: number;
  /** How to answer: a status code (2xx accepts), or 'hang' (never answer). */
  answer: number | 'hang' | ((request: IncomingMessage, count: number) => number | { status: number; headers?: Record<string, string>; body?: string });
  /** Close the port: further deliveries find nobody listening. */
  down(): Promise<void>;
  /** Listen again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(secrets: string[] = []): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let server: Server | null = null;
  let port = 0;
  const hanging = new Set<import('node:http').ServerResponse>();
  const receiver: WebhookReceiver = {
    url: '',
    port: 0,
    received,
    secrets,
    answer: 204,
    delayMs: 0,
    down: async () => {
      const closing = server;
      server = null;
      if (!closing) return;
      for (const res of hanging) res.destroy();
      hanging.clear();
      closing.closeAllConnections();
      await new Promise<void>((resolve) => closing.close(() => resolve()));
    },
    up: () => listen(port),
    close: () => receiver.down(),
  };

  function handle(req: IncomingMessage, res: import('node:http').ServerResponse) {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = {
        'webhook-id': String(req.headers['webhook-id'] ?? ''),
        'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
        'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
      };
      const verifiedWith = receiver.secrets.flatMap((secret, i) => {
        try {
          new Webhook(secret).verify(body, headers);
          return [i];
        } catch {
          return [];
        }
      });
      let payload: ReceivedWebhook['payload'];
      try {
        payload = JSON.parse(body);
      } catch {
        payload = { type: 'unparsable', timestamp: '', data: {} };
      }
      received.push({
        id: headers['webhook-id'],
        timestamp: Number(headers['webhook-timestamp']),
        signature: headers['webhook-signature'],
        body,
        payload,
        verifiedWith,
        receivedAt: Date.now(),
        path: req.url ?? '/',
      });
      const answer = typeof receiver.answer === 'function' ? receiver.answer(req, received.length) : receiver.answer;
      if (answer === 'hang') {
        hanging.add(res);
        return;
      }
      const spec = typeof answer === 'number' ? { status: answer } : answer;
      const send = () => res.writeHead(spec.status, spec.headers ?? {}).end(spec.body ?? '');
      if (receiver.delayMs > 0) setTimeout(send, receiver.delayMs);
      else send();
    });
  }

  async function listen(onPort: number) {
    const next = createServer(handle);
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(onPort, '127.0.0.1', () => resolve());
    });
    server = next;
    port = (next.address() as AddressInfo).port;
    receiver.port = port;
    receiver.url = `http://127.0.0.1:${port}/hooks`;
  }

  await listen(0);
  return receiver;
}

/** Waits until `check` is truthy (polling), or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 15_000,
  everyMs = 50,
): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as Exclude<T, false | null | undefined | 0 | ''>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
