/**
 * Authentication as the HTTP and WebSocket servers see it, assembled in one place for app.ts:
 * first-start bootstrap, the context's RequestAuth per transport, yoga's plugins (CSRF, session
 * cookie, subscriptions that end with their credential), CORS, and graphql-ws connection checks.
 */
import type { IncomingMessage } from 'node:http';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { CloseCode, type Context as WsContext } from 'graphql-ws';
import type { Extra as WsExtra } from 'graphql-ws/use/ws';
import type { CORSOptions, Plugin } from 'graphql-yoga';
import type { ServerConfig } from '../config.js';
import type { Database } from '../db/client.js';
import type { EventBus } from '../events/bus.js';
import { authenticateHttp, authenticateWebSocket, isSecureRequest, type RequestAuth, type TransportOptions } from './authenticate.js';
import { bootstrapAdministrator, type BootstrapOutcome } from './bootstrap.js';
import { sessionCookieJar, useSessionCookies } from './cookies.js';
import { createCredentialWatch, credentialEndMessage } from './credential-watch.js';
import { type Credential, isCredentialActive } from './credentials.js';
import { useCredentialLifetime } from './subscription-lifetime.js';

/** Browsers' simple cross-site requests can set neither header; either one proves a non-form client. */
export const CSRF_HEADERS = ['x-graphql-yoga-csrf', 'authorization'];

/** What yoga hands the context factory: the Fetch request on HTTP, the upgrade request and connection_init payload on WebSocket. */
export interface InitialContext {
  request?: Request;
  req?: IncomingMessage;
  connectionParams?: Readonly<Record<string, unknown>>;
}

/**
 * Added to graphql-ws's per-connection extra: stops watching the connection's credential, and the
 * credential watched (whose end closes the connection, and with it every subscription on it).
 */
export type ConnectionExtra = { stopWatching?: () => void; watchedCredential?: Credential };
type ConnectionContext = WsContext<Record<string, unknown> | undefined, WsExtra & Partial<ConnectionExtra>>;

export interface ServerAuth {
  bootstrap: BootstrapOutcome;
  plugins: Plugin[];
  /**
   * Cross-origin requests may read answers to requests that carry no cookies (integrations with
   * API tokens in browsers); with credentials: false browsers refuse to send the session cookie
   * cross-origin at all (yoga's default would reflect any origin *with* credentials).
   */
  cors: CORSOptions;
  requestAuth(initial: InitialContext): Promise<RequestAuth>;
  /** graphql-ws onConnect: refuses presented credentials that do not work (4401), watches the ones that do. */
  onConnect(ctx: ConnectionContext): Promise<boolean>;
  onClose(ctx: ConnectionContext): void;
  close(): Promise<void>;
}

/** WebSocket close reasons are limited to 123 bytes. */
function closeReason(text: string): string {
  return Buffer.byteLength(text) <= 123 ? text : `${Buffer.from(text).subarray(0, 120).toString()}…`;
}

export async function setUpAuthentication(services: { db: Database; config: ServerConfig; events: EventBus }): Promise<ServerAuth> {
  const { config, db } = services;
  const bootstrap = await bootstrapAdministrator(services, { adminToken: config.adminToken, adminPassword: config.adminPassword });
  const watch = createCredentialWatch(services.events, (credential) => isCredentialActive(db, credential.tokenId));
  const transport: TransportOptions = { trustProxy: config.trustProxy };
  // Plugins that run before the context (trusted documents) and the context share one lookup.
  const byRequest = new WeakMap<Request, Promise<RequestAuth>>();

  return {
    bootstrap,
    plugins: [useCSRFPrevention({ requestHeaders: CSRF_HEADERS }), useSessionCookies(), useCredentialLifetime(watch)],
    cors: { origin: '*', credentials: false },
    requestAuth(initial) {
      if (initial.connectionParams !== undefined && initial.req) {
        return authenticateWebSocket(db, initial.connectionParams, initial.req, transport);
      }
      const request = initial.request!;
      let auth = byRequest.get(request);
      if (!auth) {
        const cookies = sessionCookieJar(request, isSecureRequest(request.url, request.headers, transport));
        auth = authenticateHttp(db, request, initial.req, cookies, transport);
        byRequest.set(request, auth);
      }
      return auth;
    },
    async onConnect(ctx) {
      const auth = await authenticateWebSocket(db, ctx.connectionParams, ctx.extra.request, transport);
      const { socket } = ctx.extra;
      if (auth.problem) {
        socket.close(CloseCode.Unauthorized, closeReason(auth.problem));
        return false;
      }
      if (auth.identity) {
        ctx.extra.watchedCredential = auth.identity.credential;
        ctx.extra.stopWatching = watch.watch(auth.identity.credential, (end) => {
          socket.close(
            // Forbidden is retried by graphql-ws clients: they reconnect and resubscribe with what they may now do.
            end === 'PERMISSIONS_REDUCED' ? CloseCode.Forbidden : CloseCode.Unauthorized,
            closeReason(credentialEndMessage(end).message),
          );
          // Nothing more is sent once the close has begun; the subscriptions end now too, not when
          // the closing handshake completes (graphql-ws returns them again then, which is a no-op).
          for (const subscription of Object.values(ctx.subscriptions)) {
            const iterator = subscription as { return?: (value?: unknown) => unknown } | null;
            if (typeof iterator?.return === 'function') void Promise.resolve(iterator.return(undefined)).catch(() => {});
          }
        });
      }
      return true;
    },
    onClose(ctx) {
      ctx.extra.stopWatching?.();
    },
    close: () => watch.close(),
  };
}
