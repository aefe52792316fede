/**
 * Who is calling, for each transport; both feed the one context factory.
 *
 * - HTTP and SSE: `Authorization: Bearer <API token>`; without that header, the dashboard's
 *   `updraft_session` cookie.
 * - graphql-ws: `{ authorization: "Bearer <API token>" }` in the connection_init payload; without
 *   it, the session cookie of the upgrade request, when the page that opened the socket is of this
 *   server's origin (browsers send cookies with cross-origin WebSocket upgrades too).
 *
 * Credentials that are presented but do not work are a problem that the UNAUTHENTICATED error
 * names; they never fall back to another credential or to acting anonymously with data.
 */
import type { IncomingMessage } from 'node:http';
import type { Executor } from '../db/client.js';
import type { Caller } from '../domain/caller.js';
import { readCookie, SESSION_COOKIE, type SessionCookieJar } from './cookies.js';
import { authenticateToken, type Identity } from './credentials.js';

export interface RequestAuth {
  /** Null when the request carries no valid credentials. */
  caller: Caller | null;
  identity: Identity | null;
  /** Why presented credentials were refused, for the UNAUTHENTICATED message. */
  problem: string | null;
  /** The client's address, for sign-in rate limits. */
  clientAddress: string;
  /** Sets the session cookie on the HTTP response; null where there is no response to set it on (WebSocket). */
  cookies: SessionCookieJar | null;
}

export interface TransportOptions {
  /** Behind a reverse proxy: take the client address, scheme and host from X-Forwarded-* headers. */
  trustProxy: boolean;
}

type HeaderSource = { get(name: string): string | null | undefined };

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

async function authenticate(
  db: Executor,
  presented: { authorization: string | null; sessionCookie: string | null },
  clientAddress: string,
  cookies: SessionCookieJar | null,
): Promise<RequestAuth> {
  const anonymous = (problem: string | null): RequestAuth => ({ caller: null, identity: null, problem, clientAddress, cookies });
  if (presented.authorization !== null) {
    const bearer = BEARER.exec(presented.authorization);
    if (!bearer) return anonymous('The authorization must be "Bearer <API token>"');
    const result = await authenticateToken(db, bearer[1], 'API_TOKEN');
    return result.identity ? { caller: result.identity.caller, identity: result.identity, problem: null, clientAddress, cookies } : anonymous(result.problem);
  }
  if (presented.sessionCookie) {
    const result = await authenticateToken(db, presented.sessionCookie, 'SESSION');
    if (result.identity) return { caller: result.identity.caller, identity: result.identity, problem: null, clientAddress, cookies };
    // The browser keeps sending a dead cookie until told otherwise.
    cookies?.clear();
    return anonymous(`${result.problem}: sign in again`);
  }
  return anonymous(null);
}

export function clientAddressOf(socketAddress: string | undefined, headers: HeaderSource, options: TransportOptions): string {
  if (options.trustProxy) {
    // The proxy appends the address it saw; earlier entries are whatever the client claimed.
    const forwarded = headers
      .get('x-forwarded-for')
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (forwarded?.length) return forwarded[forwarded.length - 1];
  }
  return socketAddress ?? 'unknown';
}

export function isSecureRequest(url: string, headers: HeaderSource, options: TransportOptions): boolean {
  if (url.startsWith('https:')) return true;
  return options.trustProxy && headers.get('x-forwarded-proto')?.split(',')[0].trim() === 'https';
}

/** HTTP and SSE. `node` is the Node request under yoga's Fetch request, for the socket address. */
export function authenticateHttp(
  db: Executor,
  request: Request,
  node: IncomingMessage | undefined,
  cookies: SessionCookieJar,
  options: TransportOptions,
): Promise<RequestAuth> {
  return authenticate(
    db,
    { authorization: request.headers.get('authorization'), sessionCookie: readCookie(request.headers.get('cookie'), SESSION_COOKIE) },
    clientAddressOf(node?.socket.remoteAddress, request.headers, options),
    cookies,
  );
}

function nodeHeaders(request: IncomingMessage): HeaderSource {
  return {
    get: (name) => {
      const value = request.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

/** graphql-ws: the connection_init payload, else the upgrade request's session cookie (same origin only). */
export function authenticateWebSocket(
  db: Executor,
  connectionParams: Readonly<Record<string, unknown>> | undefined,
  upgrade: IncomingMessage,
  options: TransportOptions,
): Promise<RequestAuth> {
  const headers = nodeHeaders(upgrade);
  const given = connectionParams?.authorization ?? connectionParams?.Authorization;
  const authorization = given === undefined || given === null ? null : String(given);
  const sessionCookie = authorization === null ? readCookie(headers.get('cookie'), SESSION_COOKIE) : null;
  const clientAddress = clientAddressOf(upgrade.socket.remoteAddress, headers, options);
  if (sessionCookie && !isSameOrigin(headers, options)) {
    return Promise.resolve({
      caller: null,
      identity: null,
      problem: `The session cookie is only accepted from this server's own pages, not from ${headers.get('origin')}`,
      clientAddress,
      cookies: null,
    });
  }
  return authenticate(db, { authorization, sessionCookie }, clientAddress, null);
}

/**
 * Whether a browser page of this server opened the socket. Clients that are not browsers send no
 * Origin; they could claim any, and have no cookie jar a page could abuse.
 */
function isSameOrigin(headers: HeaderSource, options: TransportOptions): boolean {
  const origin = headers.get('origin');
  if (!origin) return true;
  const host = (options.trustProxy ? headers.get('x-forwarded-host')?.split(',')[0].trim() : undefined) ?? headers.get('host');
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
