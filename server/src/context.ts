/**
 * The GraphQL context, built by one factory for HTTP, SSE and WebSocket requests alike.
 */
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
}

export function createContext(services: AppServices, caller: Caller | null): GraphQLContext {
  return { services, caller, loaders: createLoaders(services.db) };
}
