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
  return { services, caller: auth.caller, auth, loaders: createLoaders(services.db) };
}
