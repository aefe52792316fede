/**
 * A GraphQL multipart request (the spec of jaydenseric/graphql-multipart-request-spec) sent with
 * XMLHttpRequest, because fetch cannot report upload progress. Multipart is a "simple" content type,
 * so the CSRF prevention header goes with it.
 */
import { stringifyDocument, type TypedDocumentNode } from '@urql/core';
import type { GraphQLFormattedError } from 'graphql';
import { persistedExtension } from './persisted-operations';

export interface UploadResult<D> {
  data?: D;
  errors?: GraphQLFormattedError[];
  /** Network failure or a non-JSON answer. */
  failure?: string;
}

export function uploadWithProgress<D, V extends Record<string, unknown>>(
  document: TypedDocumentNode<D, V>,
  variables: V,
  /** Dotted path of the file in the variables, e.g. "input.file". */
  filePath: string,
  file: File,
  onProgress: (fraction: number) => void,
  signal?: AbortSignal,
): Promise<UploadResult<D>> {
  const form = new FormData();
  // A trusted document goes by its id, like every other request of the dashboard.
  const extensions = persistedExtension(document);
  form.append('operations', JSON.stringify(extensions ? { extensions, variables } : { query: stringifyDocument(document), variables }));
  form.append('map', JSON.stringify({ 0: [`variables.${filePath}`] }));
  form.append('0', file, file.name);
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/graphql');
    xhr.withCredentials = true;
    xhr.setRequestHeader('x-graphql-yoga-csrf', '1');
    xhr.setRequestHeader('accept', 'application/graphql-response+json, application/json');
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      try {
        resolve(JSON.parse(xhr.responseText) as UploadResult<D>);
      } catch {
        resolve({ failure: `The server answered ${xhr.status} ${xhr.statusText}.` });
      }
    };
    xhr.onerror = () => resolve({ failure: 'The upload failed: the server could not be reached.' });
    xhr.onabort = () => resolve({ failure: 'The upload was cancelled.' });
    signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(form);
  });
}
