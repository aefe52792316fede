/**
 * Trusted documents on every transport. HTTP and SSE go through graphql-yoga's persisted
 * operations plugin: a request may carry `documentId` (GraphQL over HTTP, persisted documents;
 * also `?documentId=` on GET) or Apollo's `extensions.persistedQuery.sha256Hash` instead of
 * `query`, and a credential restricted to trusted documents is refused an ad-hoc `query` with
 * TRUSTED_DOCUMENT_REQUIRED. graphql-ws subscribe messages are resolved the same way in app.ts
 * (resolveSubscribeDocument), since they do not pass through yoga's request pipeline.
 */
import { defaultExtractPersistedOperationId, usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { GraphQLError } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import type { Credential } from '../auth/credentials.js';
import type { TrustedDocumentStore } from './store.js';

const MAX_ID_LENGTH = 200;

export const TRUSTED_DOCUMENT_REQUIRED = 'TRUSTED_DOCUMENT_REQUIRED';
export const PERSISTED_QUERY_NOT_FOUND = 'PERSISTED_QUERY_NOT_FOUND';

export function trustedDocumentRequired(): GraphQLError {
  return new GraphQLError(
    'This credential may only run trusted documents: send "documentId" (the id of a document registered with registerTrustedDocuments) instead of "query".',
    { extensions: { code: TRUSTED_DOCUMENT_REQUIRED, http: { status: 403 } } },
  );
}

export function documentNotFound(): GraphQLError {
  return new GraphQLError('No trusted document with this id is registered for your organisation unit.', {
    extensions: { code: PERSISTED_QUERY_NOT_FOUND, http: { status: 400 } },
  });
}

/** The document id a request names, whichever convention it follows; null when it names none. */
export function requestedDocumentId(params: { documentId?: unknown; extensions?: unknown }, url?: URL): string | null {
  if (typeof params.documentId === 'string' && params.documentId) return params.documentId;
  const apq = defaultExtractPersistedOperationId(params as GraphQLParams, undefined as never, {});
  if (apq) return apq.includes(':') ? apq : `sha256:${apq}`;
  return url?.searchParams.get('documentId') || null;
}

export interface TrustedDocumentsOptions {
  store: TrustedDocumentStore;
  /** The credential of the request (authenticated once per request, shared with the context). */
  credentialOf(request: Request, serverContext: Record<string, unknown>): Promise<Credential | null>;
}

export function useTrustedDocuments(options: TrustedDocumentsOptions): Plugin[] {
  // The persisted operations plugin asks about a request without its server context: the
  // credential is looked up once, when the request's parameters arrive, and kept for it here.
  const credentials = new WeakMap<Request, Promise<Credential | null>>();
  const credentialOf = (request: Request) => credentials.get(request) ?? Promise.resolve(null);
  return [
    {
      onParams({ request, context }) {
        credentials.set(request, options.credentialOf(request, context as Record<string, unknown>));
      },
    },
    usePersistedOperations({
      allowArbitraryOperations: async (request) => !(await credentialOf(request))?.trustedDocumentsOnly,
      extractPersistedOperationId: (params, request) =>
        requestedDocumentId(params as GraphQLParams & { documentId?: unknown }, request.method === 'GET' ? new URL(request.url) : undefined),
      getPersistedOperation: async (id, request) => {
        if (id.length > MAX_ID_LENGTH) return null;
        return options.store.find(id, (await credentialOf(request))?.ouId ?? null);
      },
      customErrors: {
        persistedQueryOnly: () => trustedDocumentRequired(),
        notFound: () => documentNotFound(),
        keyNotFound: () =>
          new GraphQLError('Send "query", or "documentId" naming a trusted document.', { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } }),
      },
    }),
  ];
}

/**
 * A graphql-ws subscribe payload's document: its `query`, or the trusted document its `documentId`
 * (or persistedQuery extension) names; errors as the HTTP path answers them.
 */
export async function resolveSubscribeDocument(
  store: TrustedDocumentStore,
  payload: { query?: unknown; documentId?: unknown; extensions?: unknown },
  credential: Credential | null,
): Promise<{ query: string } | { error: GraphQLError }> {
  const query = typeof payload.query === 'string' ? payload.query : '';
  if (query.trim() !== '') return credential?.trustedDocumentsOnly ? { error: trustedDocumentRequired() } : { query };
  const id = requestedDocumentId(payload);
  if (!id) return { query };
  const text = id.length > MAX_ID_LENGTH ? null : await store.find(id, credential?.ouId ?? null);
  return text === null ? { error: documentNotFound() } : { query: text };
}
