/**
 * The signed-in caller (`me`) and the dashboard's sign-in and sign-out. These four fields are the
 * only ones open to anonymous callers: `me` answers null, signOut false, signIn checks credentials,
 * passwordSignInAvailable says whether password sign-in is possible at all.
 */
import { DomainError } from '../domain/errors.js';
import { eq } from 'drizzle-orm';
import { builder } from '../builder.js';
import type { Identity } from '../auth/credentials.js';
import { SignInFailedError, TooManyAttemptsError } from '../auth/errors.js';
import { passwordSignInAvailable, signIn, signOut } from '../auth/sign-in.js';
import { organisationUnits, PERMISSIONS } from '../db/schema.js';
import { InvalidInputError } from '../domain/errors.js';
import { CredentialKind } from './api-token.js';
import { Permission } from './enums.js';
import { User } from './user.js';

const OrganisationUnit = builder.objectRef<typeof organisationUnits.$inferSelect>('OrganisationUnit').implement({
  description: 'The tenant: every product, device, firmware, job, user and role belongs to one.',
  fields: (t) => ({
    id: t.globalID({ resolve: (ou) => ({ type: 'OrganisationUnit', id: ou.id }) }),
    name: t.exposeString('name'),
  }),
});

const Me = builder.objectRef<Identity>('Me').implement({
  description: 'Who the request acts as.',
  fields: (t) => ({
    user: t.field({
      type: User,
      resolve: async (me, _args, context) => (await context.services.db.query.users.findFirst({ where: { id: me.caller.userId } }))!,
    }),
    organisationUnit: t.field({
      type: OrganisationUnit,
      resolve: async (me, _args, context) => (await context.services.db.select().from(organisationUnits).where(eq(organisationUnits.id, me.caller.ouId)))[0],
    }),
    permissions: t.field({
      type: [Permission],
      description: 'What this request may do: the credential’s permissions within what your roles grant.',
      resolve: (me) => PERMISSIONS.filter((p) => me.caller.permissions.has(p)),
    }),
    authenticatedWith: t.field({ type: CredentialKind, resolve: (me) => me.credential.kind }),
    expiresAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the session or token in use expires; null: never.',
      resolve: (me) => me.credential.expiresAt,
    }),
  }),
});

builder.queryField('me', (t) =>
  t.field({
    type: Me,
    nullable: true,
    description: 'Who you are signed in as; null when the request carries no valid credentials.',
    resolve: (_root, _args, context) => context.auth.identity,
  }),
);

builder.queryField('passwordSignInAvailable', (t) =>
  t.boolean({
    description:
      'Whether any user can sign in with a password (otherwise only with API tokens). Open without credentials: the sign-in page opens on the token tab when this is false.',
    resolve: (_root, _args, context) => passwordSignInAvailable(context.services.db),
  }),
);

const SignInInput = builder.inputType('SignInInput', {
  description: 'A username and password, or an API token to exchange for a dashboard session.',
  fields: (t) => ({
    username: t.string(),
    password: t.string(),
    token: t.string(),
  }),
});

builder.mutationField('signIn', (t) =>
  t.field({
    type: Me,
    description:
      'Opens a dashboard session: sets the HttpOnly `updraft_session` cookie (HTTP only, never readable by the page). API clients send their token as "Authorization: Bearer <token>" instead.',
    args: { input: t.arg({ type: SignInInput, required: true }) },
    errors: { types: [SignInFailedError, TooManyAttemptsError, InvalidInputError] },
    resolve: async (_root, { input }, context) => {
      if (!context.auth.cookies) {
        // A session nobody could ever send back would only wait to expire.
        throw InvalidInputError.single([], 'sign in over HTTP: a WebSocket cannot set the session cookie');
      }
      const previous = context.auth.identity?.credential;
      const method = input.token ? 'token' : 'password';
      const log = context.services.log.child({ component: 'auth' });
      let signedIn: Awaited<ReturnType<typeof signIn>>;
      try {
        signedIn = await signIn(context.services, input, {
          clientAddress: context.auth.clientAddress,
          sessionTtlMinutes: context.services.config.sessionTtlMinutes,
          previousSessionId: previous?.kind === 'SESSION' ? previous.tokenId : null,
        });
      } catch (error) {
        // The name tried is kept (it tells an attack from a typo); the password and token never are.
        const reason = error instanceof DomainError ? error.code : 'ERROR';
        log.info({ method, username: input.username?.slice(0, 64), address: context.auth.clientAddress, reason }, 'sign-in refused');
        throw error;
      }
      log.info({ method, userId: signedIn.identity.caller.userId, ouId: signedIn.identity.caller.ouId, address: context.auth.clientAddress }, 'signed in');
      context.auth.cookies.set(signedIn.sessionSecret, signedIn.expiresAt);
      // The answer (and whatever else this operation selects) is about the user who just signed in.
      Object.assign(context.auth, { identity: signedIn.identity, caller: signedIn.identity.caller, problem: null });
      context.caller = signedIn.identity.caller;
      return signedIn.identity;
    },
  }),
);

builder.mutationField('signOut', (t) =>
  t.boolean({
    description: 'Ends the dashboard session of this request and clears its cookie; false when there was none.',
    resolve: async (_root, _args, context) => {
      const ended = await signOut(context.services, context.auth.identity?.credential ?? null, context.caller);
      context.auth.cookies?.clear();
      return ended;
    },
  }),
);
