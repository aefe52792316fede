/**
 * What the API said, in the shape the pages show: either the data, or a problem with the API's own
 * message. Mutations answer with result unions (`MutationXSuccess { data }` or a typed `Error`);
 * transport and GraphQL errors (FORBIDDEN, UNAUTHENTICATED, BAD_USER_INPUT…) arrive as CombinedError.
 */
import type { CombinedError } from '@urql/core';

export interface ApiProblem {
  message: string;
  /** NOT_FOUND, INVALID_INPUT, FORBIDDEN, UNAUTHENTICATED, NETWORK… */
  code: string;
  /** For FORBIDDEN: the permission the caller lacks. */
  permission?: string;
  /** Extra lines: jobs that still use a firmware, and the like. */
  details: string[];
  /** InvalidInputError's issues, for forms to show next to their fields. */
  issues?: readonly { path: readonly string[]; message: string }[];
  /** JobNotEditableError's refused fields. */
  refused?: readonly { field: string; reason: string }[];
}

export type Outcome<T> = { ok: true; data: T } | { ok: false; problem: ApiProblem };

export function problemOfError(error: CombinedError): ApiProblem {
  const first = error.graphQLErrors[0];
  if (first) {
    const extensions = (first.extensions ?? {}) as { code?: unknown; permission?: unknown };
    const issues = (first.extensions as { issues?: ApiProblem['issues'] } | undefined)?.issues;
    return {
      message: first.message,
      code: typeof extensions.code === 'string' ? extensions.code : 'ERROR',
      issues: Array.isArray(issues) ? issues : undefined,
      permission: typeof extensions.permission === 'string' ? extensions.permission : undefined,
      details: error.graphQLErrors.slice(1).map((e) => e.message),
    };
  }
  return {
    message: error.networkError ? `The server could not be reached (${error.networkError.message}).` : error.message,
    code: 'NETWORK',
    details: [],
  };
}

/** The typed error members of a result union carry these, depending on their type. */
interface ErrorPayload {
  message: string;
  code: string;
  issues?: readonly { path: readonly string[]; message: string }[];
  refusedFields?: readonly { field: string; reason: string }[];
  jobNames?: readonly string[];
}

type DataOf<P> = P extends { data: infer D } ? D : never;

/** Turns a mutation's result (transport error, or union payload) into an Outcome. */
export function outcomeOf<P extends object>(error: CombinedError | undefined, payload: P | null | undefined): Outcome<DataOf<P>> {
  if (error) return { ok: false, problem: problemOfError(error) };
  if (!payload) return { ok: false, problem: { message: 'The server returned no result.', code: 'EMPTY', details: [] } };
  if ('data' in payload) return { ok: true, data: payload.data as DataOf<P> };
  const failure = payload as unknown as ErrorPayload;
  const details = (failure.jobNames ?? []).map((name) => `Used by job “${name}”`);
  return {
    ok: false,
    problem: {
      message: failure.message ?? 'The request was refused.',
      code: failure.code ?? 'ERROR',
      details,
      issues: failure.issues,
      refused: failure.refusedFields,
    },
  };
}
