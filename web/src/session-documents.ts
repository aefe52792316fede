/** The caller's identity, signing in and out (the auth API: an HttpOnly session cookie, never seen by the page). */
import { ErrorFields } from './api/error-fields';
import { graphql, type ResultOf } from './api/graphql';

export const MeFields = graphql(`
  fragment MeFields on Me {
    user { id username displayName }
    organisationUnit { id name }
    permissions
  }
`);

export const MeQuery = graphql(
  `
  query Me {
    me { ...MeFields }
  }
`,
  [MeFields],
);

export const SignInMutation = graphql(
  `
  mutation SignIn($input: SignInInput!) {
    signIn(input: $input) {
      ... on MutationSignInSuccess { data { ...MeFields } }
      ... on TooManyAttemptsError { retryAfterSeconds }
      ...ErrorFields
    }
  }
`,
  [MeFields, ErrorFields],
);

export const SignOutMutation = graphql(`
  mutation SignOut {
    signOut
  }
`);

export type Me = ResultOf<typeof MeFields>;

/** Open without credentials: whether anyone has a password (else the page opens on the token tab). */
export const SignInOptionsQuery = graphql(`
  query SignInOptions {
    passwordSignInAvailable
  }
`);
