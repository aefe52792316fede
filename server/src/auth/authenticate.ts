/**
 * Who is calling. One function per transport feeds the one context factory.
 * Placeholder until the auth issue: every request acts as the development caller.
 */
import type { Caller } from '../domain/caller.js';

export interface Authenticator {
  /** HTTP and SSE requests: the Authorization header. */
  fromRequest(request: Request): Promise<Caller | null>;
  /** graphql-ws: the connection_init payload. */
  fromConnectionParams(params: Readonly<Record<string, unknown>> | undefined): Promise<Caller | null>;
}

export function developmentAuthenticator(caller: Caller): Authenticator {
  return {
    fromRequest: async () => caller,
    fromConnectionParams: async () => caller,
  };
}
