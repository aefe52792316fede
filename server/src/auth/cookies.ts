/**
 * The dashboard's session cookie. HttpOnly so that page scripts never see the session token;
 * SameSite=Strict so that other sites' pages cannot make the browser send it; Path=/ so that the
 * WebSocket upgrade to /graphql carries it too.
 */
import type { Plugin } from 'graphql-yoga';

/** Sets and clears the session cookie on one HTTP response. */
export interface SessionCookieJar {
  set(secret: string, expiresAt: Date): void;
  clear(): void;
}

export const SESSION_COOKIE = 'updraft_session';

/** The value of one cookie in a Cookie request header, or null. */
export function readCookie(header: string | null | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(value);
      } catch {
        return value;
      }
    }
  }
  return null;
}

export function sessionCookie(token: string, expiresAt: Date, secure: boolean): string {
  const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - Date.now()) / 1000));
  return `${SESSION_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}

/**
 * The Set-Cookie header a request's resolvers asked for, added to its response by
 * useSessionCookies. Keyed by the Fetch request, which yoga hands both to the context factory and
 * to onResponse; the last change wins (a dead cookie cleared, then a new session set).
 */
const pendingCookies = new WeakMap<Request, string>();

export function sessionCookieJar(request: Request, secure: boolean): SessionCookieJar {
  return {
    set: (secret, expiresAt) => void pendingCookies.set(request, sessionCookie(secret, expiresAt, secure)),
    clear: () => void pendingCookies.set(request, clearedSessionCookie(secure)),
  };
}

export function useSessionCookies(): Plugin {
  return {
    onResponse({ request, response }) {
      const cookie = pendingCookies.get(request);
      if (cookie) response.headers.append('set-cookie', cookie);
    },
  };
}
