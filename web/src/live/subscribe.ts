/**
 * A subscription straight on the graphql-ws client, for views that manage their own resume cursor
 * (urql's exchange would let graphql-ws resubscribe with the variables of the first subscribe).
 */
import { stringifyDocument, type TypedDocumentNode } from '@urql/core';
import type { GraphQLFormattedError } from 'graphql';
import { wsClient } from '../api/client';
import { persistedExtension } from '../api/persisted-operations';

export interface LiveHandlers<D> {
  next: (data: D) => void;
  error: (message: string, code?: string) => void;
}

export function subscribeLive<D, V extends Record<string, unknown>>(document: TypedDocumentNode<D, V>, variables: V, handlers: LiveHandlers<D>): () => void {
  let active = true;
  const extensions = persistedExtension(document);
  const stop = wsClient.subscribe<D>(extensions ? { query: '', extensions, variables } : { query: stringifyDocument(document), variables }, {
    next: (result) => {
      if (!active) return;
      if (result.errors?.length) {
        const first = result.errors[0] as GraphQLFormattedError;
        handlers.error(first.message, first.extensions?.code as string | undefined);
      } else if (result.data) handlers.next(result.data);
    },
    error: (error) => {
      if (!active) return;
      const list = Array.isArray(error) ? (error as GraphQLFormattedError[]) : null;
      if (list?.length) handlers.error(list[0].message, list[0].extensions?.code as string | undefined);
      // Socket closes are not errors of this subscription: the client reconnects and views resubscribe.
    },
    complete: () => {},
  });
  return () => {
    active = false;
    stop();
  };
}
