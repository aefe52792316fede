/**
 * A real graphql-ws client (package graphql-ws over the `ws` package) for one subscription, with
 * its events queued so that a test can wait for the next one, and the socket's close code kept.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export type SubscriptionEvent =
  | { kind: 'next'; data: any; errors?: { message: string; extensions?: Record<string, unknown> }[] }
  | { kind: 'error'; errors?: { message: string; extensions?: Record<string, unknown> }[]; code?: number; reason?: string }
  | { kind: 'complete' };

export interface SubscriptionOptions {
  url: string;
  query: string;
  variables?: Record<string, unknown>;
  /** The connection_init payload, e.g. `{ authorization: 'Bearer …' }`. */
  connectionParams?: Record<string, unknown>;
  /** Headers of the WebSocket upgrade request (a browser's Cookie and Origin). */
  headers?: Record<string, string>;
  /** A trusted document's id, sent beside an empty query (as the dashboard sends it). */
  documentId?: string;
}

export interface Subscription {
  /** The next event, waiting up to `deadlineMs` (generous by default: machines are shared). */
  next(deadlineMs?: number): Promise<SubscriptionEvent>;
  /** Resolves with the close code and reason once the socket closes. */
  closed: Promise<{ code: number; reason: string }>;
  dispose(): Promise<void>;
}

export function subscribe(options: SubscriptionOptions): Subscription {
  const queue: SubscriptionEvent[] = [];
  const waiters: ((event: SubscriptionEvent) => void)[] = [];
  const push = (event: SubscriptionEvent) => {
    const waiter = waiters.shift();
    if (waiter) waiter(event);
    else queue.push(event);
  };
  let resolveClosed!: (value: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (resolveClosed = resolve));

  const headers = options.headers;
  class WebSocketWithHeaders extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, headers ? { headers } : undefined);
    }
  }
  const client: Client = createClient({
    url: options.url,
    webSocketImpl: WebSocketWithHeaders,
    connectionParams: options.connectionParams,
    retryAttempts: 0,
    lazy: true,
    on: {
      closed: (event) => {
        const close = event as { code?: number; reason?: string };
        resolveClosed({ code: close.code ?? 0, reason: close.reason ?? '' });
      },
    },
  });
  client.subscribe(
    { query: options.query, variables: options.variables, ...(options.documentId ? { documentId: options.documentId } : {}) },
    {
      next: (value) => push({ kind: 'next', data: value.data, errors: value.errors as never }),
      error: (error) => {
        if (Array.isArray(error)) push({ kind: 'error', errors: error as never });
        else {
          const close = error as { code?: number; reason?: string };
          push({ kind: 'error', code: close.code, reason: close.reason });
        }
      },
      complete: () => push({ kind: 'complete' }),
    },
  );

  return {
    next(deadlineMs = 30_000) {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(deliver), 1);
          reject(new Error(`no subscription event within ${deadlineMs} ms`));
        }, deadlineMs);
        const deliver = (event: SubscriptionEvent) => {
          clearTimeout(timer);
          resolve(event);
        };
        waiters.push(deliver);
      });
    },
    closed,
    dispose: () => client.dispose() as Promise<void>,
  };
}
