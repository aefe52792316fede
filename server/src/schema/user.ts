/** Users of an organisation unit: OU_ADMIN manages them; everyone may read their own account. */
import { builder } from '../builder.js';
import { listApiTokens } from '../auth/api-tokens.js';
import { LastAdministratorError, TooManyAttemptsError } from '../auth/errors.js';
import { changeOwnPassword, createUser, listUsers, permissionsOfUser, setUserPassword, setUserRoles, updateUser } from '../auth/users.js';
import { AlreadyExistsError, InvalidInputError, NotFoundError } from '../domain/errors.js';
import { ApiToken } from './api-token.js';
import { Permission } from './enums.js';
import { callerOf, decodeId, transact } from './support.js';

export const User = builder.drizzleNode('users', {
  name: 'User',
  id: { column: (u) => u.id },
  // Administrators see every user of their unit; a user sees their own account.
  authScopes: (user) => ({ permission: 'OU_ADMIN', isUser: user.id }),
  fields: (t) => ({
    username: t.exposeString('username', { description: 'The sign-in name (lower-case).' }),
    displayName: t.exposeString('displayName'),
    disabled: t.boolean({
      description: 'A disabled user cannot sign in and none of their tokens work.',
      select: { columns: { disabledAt: true } },
      resolve: (u) => u.disabledAt !== null,
    }),
    hasPassword: t.boolean({
      description: 'Whether the user can sign in with a password (otherwise with API tokens only).',
      select: { columns: { passwordHash: true } },
      resolve: (u) => u.passwordHash !== null,
    }),
    lastSignInAt: t.expose('lastSignInAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    roles: t.relation('roles', { query: { orderBy: { name: 'asc' } } }),
    permissions: t.field({
      type: [Permission],
      description: "What the user's roles grant (a token of theirs may carry fewer).",
      resolve: (u, _args, context) => permissionsOfUser(context.services.db, u.id),
    }),
    apiTokens: t.field({
      type: [ApiToken],
      description: 'The API tokens of the user, newest first (sessions are not listed).',
      args: { includeInactive: t.arg.boolean({ description: 'Also revoked and expired ones.' }) },
      resolve: (u, args, context) => listApiTokens(context.services.db, callerOf(context), { userId: u.id, includeInactive: args.includeInactive }),
    }),
  }),
});

builder.queryField('users', (t) =>
  t.field({
    type: [User],
    description: "The users of the caller's organisation unit, by username.",
    authScopes: { permission: 'OU_ADMIN' },
    resolve: (_root, _args, context) => listUsers(context.services.db, callerOf(context)),
  }),
);

const CreateUserInput = builder.inputType('CreateUserInput', {
  fields: (t) => ({
    username: t.string({ required: true, description: 'Unique across the server; stored lower-case.' }),
    displayName: t.string({ description: 'Default: the username.' }),
    password: t.string({ description: 'At least 10 characters. Omit for a user that works with API tokens only.' }),
    roleIds: t.idList({ description: 'Roles of the organisation unit to assign.' }),
  }),
});

const decodeRoleIds = (ids: readonly (string | number)[] | null | undefined) => (ids ?? []).map((id) => decodeId(String(id), 'Role'));

builder.mutationField('createUser', (t) =>
  t.field({
    type: User,
    authScopes: { permission: 'OU_ADMIN' },
    args: { input: t.arg({ type: CreateUserInput, required: true }) },
    errors: { types: [InvalidInputError, AlreadyExistsError, NotFoundError] },
    resolve: (_root, { input }, context) =>
      transact(context, (scope) =>
        createUser(scope, callerOf(context), {
          username: input.username,
          displayName: input.displayName ?? undefined,
          password: input.password,
          roleIds: decodeRoleIds(input.roleIds),
        }),
      ),
  }),
);

const UpdateUserInput = builder.inputType('UpdateUserInput', {
  description: 'Omitted fields stay as they are.',
  fields: (t) => ({
    userId: t.id({ required: true }),
    displayName: t.string(),
    disabled: t.boolean({ description: 'Disabling revokes every token and session of the user; enabling does not bring them back.' }),
  }),
});

builder.mutationField('updateUser', (t) =>
  t.field({
    type: User,
    authScopes: { permission: 'OU_ADMIN' },
    args: { input: t.arg({ type: UpdateUserInput, required: true }) },
    errors: { types: [InvalidInputError, NotFoundError, LastAdministratorError] },
    resolve: (_root, { input }, context) =>
      transact(context, (scope) =>
        updateUser(scope, callerOf(context), decodeId(String(input.userId), 'User'), {
          displayName: input.displayName ?? undefined,
          disabled: input.disabled ?? undefined,
        }),
      ),
  }),
);

const SetUserPasswordInput = builder.inputType('SetUserPasswordInput', {
  fields: (t) => ({ userId: t.id({ required: true }), password: t.string({ required: true, description: 'At least 10 characters.' }) }),
});

builder.mutationField('setUserPassword', (t) =>
  t.field({
    type: User,
    description: "Sets a user's password and ends their dashboard sessions (not their API tokens).",
    authScopes: { permission: 'OU_ADMIN' },
    args: { input: t.arg({ type: SetUserPasswordInput, required: true }) },
    errors: { types: [InvalidInputError, NotFoundError] },
    resolve: (_root, { input }, context) =>
      transact(context, (scope) =>
        setUserPassword(scope, callerOf(context), decodeId(String(input.userId), 'User'), input.password, currentSessionId(context)),
      ),
  }),
);

const SetUserRolesInput = builder.inputType('SetUserRolesInput', {
  fields: (t) => ({ userId: t.id({ required: true }), roleIds: t.idList({ required: true, description: 'The complete new set of roles.' }) }),
});

builder.mutationField('setUserRoles', (t) =>
  t.field({
    type: User,
    description: "Replaces a user's roles; the new permissions apply at once, to their tokens too.",
    authScopes: { permission: 'OU_ADMIN' },
    args: { input: t.arg({ type: SetUserRolesInput, required: true }) },
    errors: { types: [InvalidInputError, NotFoundError, LastAdministratorError] },
    resolve: (_root, { input }, context) =>
      transact(context, (scope) => setUserRoles(scope, callerOf(context), decodeId(String(input.userId), 'User'), decodeRoleIds(input.roleIds))),
  }),
);

const ChangePasswordInput = builder.inputType('ChangePasswordInput', {
  fields: (t) => ({ currentPassword: t.string({ required: true }), newPassword: t.string({ required: true, description: 'At least 10 characters.' }) }),
});

builder.mutationField('changePassword', (t) =>
  t.field({
    type: User,
    description: 'Changes your own password; your other dashboard sessions end.',
    authScopes: { authenticated: true },
    args: { input: t.arg({ type: ChangePasswordInput, required: true }) },
    errors: { types: [InvalidInputError, TooManyAttemptsError] },
    resolve: (_root, { input }, context) => changeOwnPassword(context.services, callerOf(context), input, currentSessionId(context)),
  }),
);

function currentSessionId(context: { auth: { identity: { credential: { kind: string; tokenId: string } } | null } }): string | null {
  const credential = context.auth.identity?.credential;
  return credential?.kind === 'SESSION' ? credential.tokenId : null;
}
