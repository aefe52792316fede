/**
 * A subscription lives no longer than the credential it was opened with. When the credential is
 * revoked or expires (or its permissions shrink) the stream sends one last result with an error
 * that says why, and completes. This covers SSE. A graphql-ws connection is closed as a whole when
 * its credential ends (4401/4403, server-auth.ts: revocation, permissions, and an expiry timer),
 * which returns every subscription on it; a subscription opened there with that same credential
 * is therefore not watched a second time, nor raced against its end on every event.
 */
import { type ExecutionResult, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { raceAgainst } from '../events/stop-race.js';
import type { RequestAuth } from './authenticate.js';
import type { Credential } from './credentials.js';
import { type CredentialEnd, type CredentialWatch, credentialEndMessage } from './credential-watch.js';

function isAsyncIterable<T>(value: unknown): value is AsyncIterable<T> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/**
 * The source's results, one pull for one pull (no read-ahead: streams that coalesce for slow
 * clients keep doing so), until the credential ends; then the ending's error, then done.
 */
function untilCredentialEnds(source: AsyncIterable<ExecutionResult>, credential: Credential, watch: CredentialWatch): AsyncIterableIterator<ExecutionResult> {
  const iterator = source[Symbol.asyncIterator]();
  let ended: CredentialEnd | null = null;
  let announced = false;
  let wake: () => void = () => {};
  const endedSignal = new Promise<void>((resolve) => (wake = resolve));
  // Not Promise.race: racing each event against this long-pending promise would pile a reaction onto it per event.
  const untilEnded = raceAgainst(endedSignal);
  const unwatch = watch.watch(credential, (end) => {
    ended = end;
    wake();
  });
  const finish = () => {
    unwatch();
    // Not awaited: a source waiting for its next event finishes returning only once that arrives.
    return Promise.resolve(iterator.return?.()).catch(() => undefined);
  };

  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (!ended) {
        const next = await untilEnded(iterator.next());
        if (next && !ended) {
          if (next.done) unwatch();
          return next;
        }
      }
      if (announced) return { done: true, value: undefined };
      announced = true;
      void finish();
      const { message, code } = credentialEndMessage(ended!);
      return { done: false, value: { errors: [new GraphQLError(message, { extensions: { code } })] } };
    },
    async return() {
      announced = true;
      await finish();
      return { done: true, value: undefined };
    },
  };
}

/**
 * Whether the graphql-ws connection this subscription came on is closed when `credential` ends: it
 * watches the same token (revocations name tokens and users, so the same ones reach both), and its
 * expiry timer fires no later than this credential's expiry.
 */
function endsWithConnection(context: { extra?: { watchedCredential?: Credential } }, credential: Credential): boolean {
  const watched = context.extra?.watchedCredential;
  if (!watched || watched.tokenId !== credential.tokenId || watched.userId !== credential.userId) return false;
  if (!credential.expiresAt) return true;
  return watched.expiresAt !== null && watched.expiresAt.getTime() <= credential.expiresAt.getTime();
}

type SubscriptionContext = { auth?: RequestAuth; extra?: { watchedCredential?: Credential } };

/**
 * Whether nothing but its connection needs to end this subscription when its credential ends: it
 * has no credential, or came on a graphql-ws connection that closes when the credential ends.
 * Such a subscription's results are not raced against the credential's end (useCredentialLifetime).
 */
export function subscriptionEndsWithConnection(context: SubscriptionContext): boolean {
  const credential = context.auth?.identity?.credential;
  return !credential || endsWithConnection(context, credential);
}

export function useCredentialLifetime(watch: CredentialWatch): Plugin {
  return {
    onSubscribe({ args }) {
      const context = args.contextValue as unknown as SubscriptionContext;
      const credential = context.auth?.identity?.credential;
      if (!credential || subscriptionEndsWithConnection(context)) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable<ExecutionResult>(result)) setResult(untilCredentialEnds(result, credential, watch));
        },
      };
    },
  };
}
