/**
 * Expected failures of signing in and of administering identities. Like domain/errors.ts they know
 * nothing of GraphQL; schema/auth-errors.ts registers them as typed results.
 */
import { DomainError, NotAuthenticatedError } from '../domain/errors.js';

/** One message for every wrong credential, so that it tells nothing about which part was wrong. */
export class SignInFailedError extends DomainError {
  readonly code = 'SIGN_IN_FAILED';
  constructor() {
    super('Sign-in failed: the username and password, or the token, are not valid.');
  }
}

/** Too many sign-in attempts for this username or from this address in the current window. */
export class TooManyAttemptsError extends DomainError {
  readonly code = 'TOO_MANY_ATTEMPTS';
  constructor(readonly retryAfterSeconds: number) {
    super(`Too many sign-in attempts. Try again in ${retryAfterSeconds} seconds.`);
  }
}

/** The change would leave the organisation unit without an enabled user holding OU_ADMIN. */
export class LastAdministratorError extends DomainError {
  readonly code = 'LAST_ADMINISTRATOR';
  constructor() {
    super('The organisation unit must keep at least one enabled user with the OU_ADMIN permission: grant it to someone else first.');
  }
}

/** UNAUTHENTICATED, saying what was wrong with the credentials presented, if any were. */
export function notAuthenticated(problem: string | null): NotAuthenticatedError {
  return problem
    ? new NotAuthenticatedError(`${problem}. Send a valid API token as "Authorization: Bearer <token>", or sign in.`)
    : new NotAuthenticatedError('Sign in first, or send a valid API token as "Authorization: Bearer <token>".');
}
