/**
 * Ends what was opened with a credential when the credential ends: open subscriptions (SSE and
 * graphql-ws) and WebSocket connections. Revocations arrive on the event bus, so a token revoked
 * through one instance closes subscriptions held by every instance; expiry is a timer here.
 */
import type { EventBus } from '../events/bus.js';
import type { Credential } from './credentials.js';

/** Why a credential's connections end. */
export type CredentialEnd = 'REVOKED' | 'EXPIRED' | 'PERMISSIONS_REDUCED';

export interface CredentialWatch {
  /**
   * Calls `onEnd` once when the credential ends, including when it ended between authentication
   * and this call; the returned function stops watching.
   */
  watch(credential: Credential, onEnd: (end: CredentialEnd) => void): () => void;
  close(): Promise<void>;
}

interface Watcher {
  credential: Credential;
  onEnd: (end: CredentialEnd) => void;
  timer?: NodeJS.Timeout;
}

/** setTimeout's longest delay (about 24.8 days); later expiries re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function createCredentialWatch(events: EventBus, isActive: (credential: Credential) => Promise<boolean>): CredentialWatch {
  const watchers = new Set<Watcher>();

  const end = (watcher: Watcher, reason: CredentialEnd) => {
    if (!watchers.delete(watcher)) return;
    clearTimeout(watcher.timer);
    watcher.onEnd(reason);
  };

  const armExpiry = (watcher: Watcher) => {
    const expiresAt = watcher.credential.expiresAt;
    if (!expiresAt) return;
    const delay = expiresAt.getTime() - Date.now();
    watcher.timer = setTimeout(() => (delay > MAX_TIMER_MS ? armExpiry(watcher) : end(watcher, 'EXPIRED')), Math.max(0, Math.min(delay, MAX_TIMER_MS)));
    watcher.timer.unref();
  };

  const revocations = events.subscribe('auth:revoked');
  const listening = (async () => {
    for await (const event of revocations) {
      const tokenIds = new Set(event.tokenIds);
      const userIds = new Set(event.userIds);
      for (const watcher of [...watchers]) {
        if (tokenIds.has(watcher.credential.tokenId) || userIds.has(watcher.credential.userId)) end(watcher, event.reason);
      }
    }
  })();

  const check = (watcher: Watcher) =>
    void isActive(watcher.credential).then(
      (active) => active || end(watcher, 'REVOKED'),
      () => {},
    );
  // A revocation published while Redis was away may never have arrived: look at each credential again.
  const resyncs = events.subscribe('bus:resync');
  const resyncing = (async () => {
    for await (const _ of resyncs) for (const watcher of [...watchers]) check(watcher);
  })();

  return {
    watch(credential, onEnd) {
      const watcher: Watcher = { credential, onEnd };
      watchers.add(watcher);
      armExpiry(watcher);
      check(watcher);
      return () => {
        watchers.delete(watcher);
        clearTimeout(watcher.timer);
      };
    },
    async close() {
      for (const watcher of watchers) clearTimeout(watcher.timer);
      watchers.clear();
      await Promise.all([revocations.return?.(), resyncs.return?.()]);
      await Promise.all([listening, resyncing]);
    },
  };
}

/** What a client is told when its credential ends, in words and as extensions.code. */
export function credentialEndMessage(end: CredentialEnd): { message: string; code: 'UNAUTHENTICATED' | 'FORBIDDEN' } {
  switch (end) {
    case 'REVOKED':
      return { message: 'The token or session was revoked: sign in again', code: 'UNAUTHENTICATED' };
    case 'EXPIRED':
      return { message: 'The token or session expired: sign in again', code: 'UNAUTHENTICATED' };
    case 'PERMISSIONS_REDUCED':
      return { message: 'Your permissions changed: subscribe again', code: 'FORBIDDEN' };
  }
}
