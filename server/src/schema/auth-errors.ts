/** The typed errors of signing in and of administering users, roles and tokens. */
import { builder } from '../builder.js';
import { LastAdministratorError, SignInFailedError, TooManyAttemptsError } from '../auth/errors.js';
import { ErrorInterface } from './errors.js';

builder.objectType(SignInFailedError, {
  name: 'SignInFailedError',
  description: 'The username and password, or the token, are not valid (one message for every reason).',
  interfaces: [ErrorInterface],
  fields: () => ({}),
});

builder.objectType(TooManyAttemptsError, {
  name: 'TooManyAttemptsError',
  description: 'Too many failed sign-ins for this username or from this address; nothing was checked.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ retryAfterSeconds: t.exposeInt('retryAfterSeconds', { description: 'When the next attempt will be checked.' }) }),
});

builder.objectType(LastAdministratorError, {
  name: 'LastAdministratorError',
  description: 'The change would leave the organisation unit without an enabled user with OU_ADMIN.',
  interfaces: [ErrorInterface],
  fields: () => ({}),
});
