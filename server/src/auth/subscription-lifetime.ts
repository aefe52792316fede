/**
 * A subscription lives no longer than the credential it was opened with. When the credential is
 * revoked or expires (or its permissions shrink) the stream sends one last result with an error
 * that says why, and completes. This covers SSE; graphql-ws connections are closed as a whole as
 * well (app.ts).
 */
import { GraphQLError } from 'graphql';
import { type Plugin, Repeater } from 'graphql-yoga';
import type { GraphQLContext } from '../context.js';
import { type CredentialWatch, credentialEndMessage } from './credential-watch.js';

function isAsyncIterable<T>(value: unknown): value is AsyncIterable<T> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

export function useCredentialLifetime(watch: CredentialWatch): Plugin {
  return {
    onSubscribe({ args }) {
      const credential = (args.contextValue as unknown as GraphQLContext).auth?.identity?.credential;
      if (!credential) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result)) return;
          setResult(
            new Repeater(async (push, stop) => {
              const source = result[Symbol.asyncIterator]();
              const unwatch = watch.watch(credential, (end) => {
                const { message, code } = credentialEndMessage(end);
                void push({ errors: [new GraphQLError(message, { extensions: { code } })] } as never).then(() => stop());
              });
              void stop.then(() => {
                unwatch();
                void source.return?.();
              });
              try {
                for (;;) {
                  const next = await Promise.race([source.next(), stop.then(() => null)]);
                  if (!next || next.done) break;
                  await push(next.value);
                }
                stop();
              } catch (error) {
                stop(error);
              }
            }),
          );
        },
      };
    },
  };
}
