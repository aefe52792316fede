/**
 * The GraphQL context, built by one factory for HTTP, SSE and WebSocket requests alike.
 */
import type { RequestAuth } from './auth/authenticate.js';
import type { Caller } from './domain/caller.js';
import type { AppServices } from './services.js';
import { createLoaders, type Loaders } from './domain/loaders.js';

export type { AppServices };

export interface GraphQLContext {
  services: AppServices;
  /** Null when the request carries no valid credentials. */
  caller: Caller | null;
  /** Per-request batching loaders (counts per job, etc.). */
  loaders: Loaders;
  /** How the request authenticated: its credential, the client's address, the session cookie. */
  auth: RequestAuth;
}

export function createContext(services: AppServices, auth: RequestAuth): GraphQLContext {
  return { services, caller: withOrigin(auth), auth, loaders: createLoaders(services.db) };
}

/** The caller with where its request came from (the audit log's "from where"). */
export function withOrigin(auth: Pick<RequestAuth, 'caller' | 'identity' | 'clientAddress'>): Caller | null {
  if (!auth.caller || !auth.identity) return auth.caller;
  const { kind, tokenId, name } = auth.identity.credential;
  return { ...auth.caller, origin: { clientAddress: auth.clientAddress, credentialKind: kind, credentialId: tokenId, credentialName: name } };
}
