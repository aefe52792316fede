/** Roles: named permission sets of an organisation unit, managed with OU_ADMIN. */
import { builder } from '../builder.js';
import { LastAdministratorError } from '../auth/errors.js';
import { createRole, deleteRole, listRoles, updateRole } from '../auth/roles.js';
import { AlreadyExistsError, InvalidInputError, NotFoundError } from '../domain/errors.js';
import { Permission } from './enums.js';
import { callerOf, decodeId, transact } from './support.js';

export const Role = builder.drizzleNode('roles', {
  name: 'Role',
  id: { column: (r) => r.id },
  description: 'A named set of permissions. A user has the permissions of all their roles.',
  // Administrators see every role of their unit; a user sees the roles they hold.
  authScopes: (role) => ({ permission: 'OU_ADMIN', holdsRole: role.id }),
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    permissions: t.field({ type: [Permission], select: { columns: { permissions: true } }, resolve: (r) => r.permissions }),
    users: t.relation('users', {
      description: 'The users holding this role.',
      authScopes: { permission: 'OU_ADMIN' },
      query: { orderBy: { username: 'asc' } },
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.queryField('roles', (t) =>
  t.field({
    type: [Role],
    description: "The roles of the caller's organisation unit, by name.",
    authScopes: { permission: 'OU_ADMIN' },
    resolve: (_root, _args, context) => listRoles(context.services.db, callerOf(context)),
  }),
);

const CreateRoleInput = builder.inputType('CreateRoleInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: 'Unique within the organisation unit; up to 60 characters.' }),
    description: t.string(),
    permissions: t.field({ type: [Permission], required: true }),
  }),
});

builder.mutationField('createRole', (t) =>
  t.field({
    type: Role,
    authScopes: { permission: 'OU_ADMIN' },
    args: { input: t.arg({ type: CreateRoleInput, required: true }) },
    errors: { types: [InvalidInputError, AlreadyExistsError] },
    resolve: (_root, { input }, context) =>
      transact(context, (scope) =>
        createRole(scope, callerOf(context), { name: input.name, description: input.description ?? undefined, permissions: input.permissions }),
      ),
  }),
);

const UpdateRoleInput = builder.inputType('UpdateRoleInput', {
  description: 'Omitted fields stay as they are. New permissions apply at once to every holder and their tokens.',
  fields: (t) => ({
    roleId: t.id({ required: true }),
    name: t.string(),
    description: t.string(),
    permissions: t.field({ type: [Permission] }),
  }),
});

builder.mutationField('updateRole', (t) =>
  t.field({
    type: Role,
    authScopes: { permission: 'OU_ADMIN' },
    args: { input: t.arg({ type: UpdateRoleInput, required: true }) },
    errors: { types: [InvalidInputError, NotFoundError, AlreadyExistsError, LastAdministratorError] },
    resolve: (_root, { input }, context) =>
      transact(context, (scope) =>
        updateRole(scope, callerOf(context), decodeId(String(input.roleId), 'Role'), {
          name: input.name ?? undefined,
          description: input.description ?? undefined,
          permissions: input.permissions ?? undefined,
        }),
      ),
  }),
);

builder.mutationField('deleteRole', (t) =>
  t.field({
    type: Role,
    description: 'Deletes the role; its holders lose its permissions. Returns the role as it was.',
    authScopes: { permission: 'OU_ADMIN' },
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError, LastAdministratorError] },
    resolve: (_root, { id }, context) => transact(context, (scope) => deleteRole(scope, callerOf(context), decodeId(String(id), 'Role'))),
  }),
);
