/**
 * Trusted documents as requests look them up: from the database, remembered per instance (a
 * document never changes under its id; a removal or registration anywhere is heard on the bus and
 * forgets the unit's entries, and entries expire after CACHE_TTL_MS in case that event was lost).
 * Unknown ids are not remembered: a client guessing ids costs a lookup each, bounded by the rate limits.
 */
import type { Executor } from '../db/client.js';
import { findTrustedDocument } from '../domain/trusted-documents.js';
import type { EventBus } from '../events/bus.js';

const CACHE_TTL_MS = 5 * 60_000;
const MAX_ENTRIES = 10_000;

export interface TrustedDocumentStore {
  /** The document's text if the unit (null: anonymous) may run it. */
  find(documentId: string, ouId: string | null): Promise<string | null>;
  close(): Promise<void>;
}

export function createTrustedDocumentStore(db: Executor, events: EventBus): TrustedDocumentStore {
  const cache = new Map<string, { text: string; at: number; ouId: string | null }>();
  const changes = events.subscribe('trusted-documents:changed')[Symbol.asyncIterator]();
  void (async () => {
    for (let next = await changes.next(); !next.done; next = await changes.next()) {
      const { ouId } = next.value;
      for (const [key, entry] of cache) if (ouId === null || entry.ouId === ouId) cache.delete(key);
    }
  })().catch(() => {});
  // A removal heard nowhere while Redis was away: forget everything.
  const resyncs = events.subscribe('bus:resync')[Symbol.asyncIterator]();
  void (async () => {
    for (let next = await resyncs.next(); !next.done; next = await resyncs.next()) cache.clear();
  })().catch(() => {});
  return {
    async find(documentId, ouId) {
      const key = `${ouId ?? '-'} ${documentId}`;
      const hit = cache.get(key);
      if (hit && Date.now() - hit.at < CACHE_TTL_MS) return hit.text;
      const text = await findTrustedDocument(db, documentId, ouId);
      if (text !== null) {
        if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!);
        cache.set(key, { text, at: Date.now(), ouId });
      }
      return text;
    },
    async close() {
      await Promise.all([changes.return?.(), resyncs.return?.()]);
    },
  };
}
