/**
 * What a browser does with the dashboard's session: sign in over HTTP, keep the Set-Cookie value
 * (a real browser keeps it where page scripts cannot read it), send it back with later requests.
 */
import type { GraphQLResponse } from '../support/server.js';

export const SIGN_IN = `mutation($input: SignInInput!) { signIn(input: $input) {
  __typename
  ... on MutationSignInSuccess { data { user { username } organisationUnit { name } permissions authenticatedWith expiresAt } }
  ... on TooManyAttemptsError { retryAfterSeconds }
  ... on Error { message code }
} }`;

export interface HttpAnswer<T = any> extends GraphQLResponse<T> {
  status: number;
  setCookie: string | null;
}

/** POST without default credentials: only the given headers (e.g. a Cookie). */
export async function post<T = any>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<HttpAnswer<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as GraphQLResponse<T>;
  return { ...body, status: response.status, setCookie: response.headers.get('set-cookie') };
}

/** The session token in a Set-Cookie header, or null. */
export function sessionOf(setCookie: string | null): string | null {
  const match = /(?:^|,\s*)updraft_session=([^;]*)/.exec(setCookie ?? '');
  return match?.[1] ? decodeURIComponent(match[1]) : null;
}

export const cookieHeader = (session: string) => ({ cookie: `updraft_session=${encodeURIComponent(session)}` });

export async function signIn(url: string, input: Record<string, unknown>, headers: Record<string, string> = {}) {
  const answer = await post(url, SIGN_IN, { input }, headers);
  return { answer, result: answer.data?.signIn, session: sessionOf(answer.setCookie) };
}
