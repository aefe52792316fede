/**
 * The dashboard sends trusted document ids, not documents: the build registered every query and
 * mutation of web/src (web/trusted-documents.ts), and the server registers that manifest at start.
 * An operation whose name the build knows goes out as `extensions.persistedQuery` alone (urql then
 * leaves `query` out of the body; graphql-ws subscribe messages carry it the same way). Should the server not know the id (a web/dist replaced without a
 * restart), the request is sent once more with its text, so that the console keeps working; a
 * credential restricted to trusted documents is refused that, as it should be.
 */
import { getOperationName, makeOperation, mapExchange, stringifyDocument } from '@urql/core';
import type { DocumentNode } from 'graphql';
import ids from 'virtual:trusted-document-ids';

const texts = new Map<string, string>();

/** After the cache exchange (which adds __typename), so that the text kept is the one registered. */
export const trustedDocumentsExchange = mapExchange({
  onOperation(operation) {
    if (operation.kind === 'teardown') return operation;
    const extension = persistedExtension(operation.query);
    if (!extension) return operation;
    if (operation.kind !== 'subscription') texts.set(`sha256:${extension.persistedQuery.sha256Hash}`, stringifyDocument(operation.query));
    return makeOperation(operation.kind, { ...operation, extensions: { ...operation.extensions, ...extension } }, operation.context);
  },
});

/** fetch for the client: a persisted request the server does not know is sent again with its text. */
export async function trustedDocumentsFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const response = await fetch(input, init);
  if (response.status !== 400 || typeof init?.body !== 'string' || !init.body.includes('"persistedQuery"')) return response;
  const answer = (await response
    .clone()
    .json()
    .catch(() => null)) as { errors?: { extensions?: { code?: string } }[] } | null;
  if (!answer?.errors?.some((e) => e.extensions?.code === 'PERSISTED_QUERY_NOT_FOUND')) return response;
  const body = JSON.parse(init.body) as { extensions?: { persistedQuery?: { sha256Hash?: string } } & Record<string, unknown> };
  const text = texts.get(`sha256:${body.extensions?.persistedQuery?.sha256Hash}`);
  if (!text) return response;
  const { persistedQuery: _, ...extensions } = body.extensions ?? {};
  return fetch(input, { ...init, body: JSON.stringify({ ...body, query: text, extensions }) });
}

/** The persistedQuery extension naming a document the build registered; null for any other. */
export function persistedExtension(document: DocumentNode): { persistedQuery: { version: 1; sha256Hash: string } } | null {
  const name = getOperationName(document);
  const id = name ? ids[name] : undefined;
  return id ? { persistedQuery: { version: 1, sha256Hash: id.slice('sha256:'.length) } } : null;
}
