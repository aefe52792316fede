/**
 * The one GraphQL client of the dashboard: queries and mutations over HTTP (POST with a JSON body,
 * so that yoga's CSRF prevention sees a non-simple request), subscriptions over one graphql-ws
 * WebSocket. The session is an HttpOnly cookie: both transports send it, the page never holds it.
 */
import { Client, cacheExchange, fetchExchange, mapExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { createSignal } from 'solid-js';
import { trustedDocumentsExchange, trustedDocumentsFetch } from './persisted-operations';

export type LiveState = 'connecting' | 'live' | 'reconnecting';

const [liveState, setLiveState] = createSignal<LiveState>('connecting');
/** Counts reconnections: live views resubscribe from their cursor when it changes. */
const [liveEpoch, setLiveEpoch] = createSignal(0);
export { liveEpoch, liveState };

/** Set when the server says the request is not signed in (any more). */
const [sessionEnded, setSessionEnded] = createSignal(false);
export { sessionEnded };

/** A dropped connection that the browser has not noticed yet is found by an unanswered ping. */
const PING_INTERVAL_MS = 10_000;
const PONG_TIMEOUT_MS = 5_000;

function wsUrl(): string {
  const url = new URL('/graphql', window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

function createLiveClient(): WsClient {
  let socket: WebSocket | null = null;
  let pongTimer: ReturnType<typeof setTimeout> | undefined;
  let everConnected = false;
  return createWsClient({
    url: wsUrl(),
    lazy: false,
    keepAlive: PING_INTERVAL_MS,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    // Back off to at most ~10 s so that an operator is never left waiting long after the server returns.
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(1000 * 2 ** retries, 10_000) + Math.random() * 500)),
    on: {
      // A first connection that fails and is retried is as much "down" as a dropped one.
      connecting: (isRetry) => setLiveState(everConnected || isRetry ? 'reconnecting' : 'connecting'),
      connected: (s) => {
        socket = s as WebSocket;
        setLiveState('live');
        if (everConnected) setLiveEpoch((n) => n + 1);
        everConnected = true;
      },
      closed: () => {
        clearTimeout(pongTimer);
        socket = null;
        setLiveState(everConnected ? 'reconnecting' : 'connecting');
      },
      ping: (received) => {
        if (received) return;
        clearTimeout(pongTimer);
        pongTimer = setTimeout(() => {
          if (socket?.readyState === WebSocket.OPEN) socket.close(4408, 'Pong timeout');
        }, PONG_TIMEOUT_MS);
      },
      pong: (received) => {
        if (received) clearTimeout(pongTimer);
      },
    },
  });
}

export const wsClient: WsClient = createLiveClient();

export const client = new Client({
  url: '/graphql',
  preferGetMethod: false,
  requestPolicy: 'cache-and-network',
  fetchOptions: () => ({ headers: { 'x-graphql-yoga-csrf': '1' }, credentials: 'same-origin' }),
  fetch: trustedDocumentsFetch,
  exchanges: [
    mapExchange({
      onResult(result) {
        if (result.error?.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED') && result.operation.kind !== 'mutation') {
          setSessionEnded(true);
        }
      },
    }),
    cacheExchange,
    trustedDocumentsExchange,
    fetchExchange,
    subscriptionExchange({
      forwardSubscription(request) {
        const input = { ...request, query: request.query ?? '' };
        return {
          subscribe(sink) {
            const unsubscribe = wsClient.subscribe(input, sink);
            return { unsubscribe };
          },
        };
      },
    }),
  ],
});
