/**
 * Users of an organisation unit, managed by its administrators (OU_ADMIN): create, rename,
 * disable, set a password, assign roles. A user changes their own password with changeOwnPassword.
 */
import { and, asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Database, Executor } from '../db/client.js';
import { type Permission, userRoles, users } from '../db/schema.js';
import { countOf, recordAudit } from '../domain/audit.js';
import { type Caller, requirePermission } from '../domain/caller.js';
import { AlreadyExistsError, InvalidInputError, NotFoundError } from '../domain/errors.js';
import { isUniqueViolation } from '../db/errors.js';
import { inTransaction, type TransactionScope } from '../domain/transaction.js';
import type { EventBus } from '../events/bus.js';
import { parseInput } from '../domain/validation.js';
import { permissionsReduced, revokeCredentials, unionOfPermissions } from './credentials.js';
import { hashPassword, passwordSchema, verifyPassword } from './passwords.js';
import { lostAny, rolesOfUnit } from './roles.js';
import { countAttempt, forgiveAttempt, usernameKey } from './throttle.js';
import { ensureAdministratorRemains, lockOrganisationUnit } from './unit-guard.js';
import { displayNameSchema, usernameSchema } from './validation.js';

export type UserRow = typeof users.$inferSelect;

const roleIdsSchema = z
  .array(z.string())
  .max(100, 'must list at most 100 roles')
  .transform((ids) => [...new Set(ids)]);

const createUserInput = z.object({
  username: usernameSchema,
  displayName: displayNameSchema.optional(),
  password: passwordSchema.nullish(),
  roleIds: roleIdsSchema.default([]),
});
export type CreateUserInput = z.input<typeof createUserInput>;

const updateUserInput = z.object({
  displayName: displayNameSchema.optional(),
  disabled: z.boolean().optional(),
});
export type UpdateUserInput = z.input<typeof updateUserInput>;

export async function listUsers(db: Executor, caller: Caller): Promise<UserRow[]> {
  requirePermission(caller, 'OU_ADMIN');
  return db.select().from(users).where(eq(users.ouId, caller.ouId)).orderBy(asc(users.username));
}

/** The user with this id in the caller's unit; NotFoundError for a foreign or unknown one alike. */
export async function userOfUnit(db: Executor, caller: Caller, userId: string): Promise<UserRow> {
  const [row] = await db
    .select()
    .from(users)
    .where(and(eq(users.id, userId), eq(users.ouId, caller.ouId)));
  if (!row) throw new NotFoundError('User', userId);
  return row;
}

/** What the user's roles grant now. */
export async function permissionsOfUser(db: Executor, userId: string): Promise<Permission[]> {
  const user = await db.query.users.findFirst({ where: { id: userId }, with: { roles: { columns: { permissions: true } } } });
  return user ? unionOfPermissions(user.roles) : [];
}

function userTarget(user: UserRow) {
  return { type: 'USER' as const, id: user.id, name: user.username };
}

export async function createUser({ tx }: TransactionScope, caller: Caller, input: CreateUserInput): Promise<UserRow> {
  requirePermission(caller, 'OU_ADMIN');
  const values = parseInput(createUserInput, input);
  await rolesOfUnit(tx, caller, values.roleIds);
  const passwordHash = values.password ? await hashPassword(values.password) : null;
  let user: UserRow;
  try {
    [user] = await tx
      .insert(users)
      .values({ ouId: caller.ouId, username: values.username, displayName: values.displayName ?? values.username, passwordHash })
      .returning();
  } catch (error) {
    throw isUniqueViolation(error) ? new AlreadyExistsError('user', 'username', values.username) : error;
  }
  if (values.roleIds.length > 0) {
    await tx.insert(userRoles).values(values.roleIds.map((roleId) => ({ userId: user.id, roleId, ouId: caller.ouId })));
  }
  await recordAudit(tx, caller, {
    action: 'USER_CREATED',
    target: userTarget(user),
    summary: `User ${user.username} created${passwordHash ? ' with a password' : ''}, ${countOf(values.roleIds.length, 'role')}`,
    details: { roleIds: values.roleIds },
  });
  return user;
}

/** Renames, disables or enables a user. Disabling revokes every token and session of theirs. */
export async function updateUser(scope: TransactionScope, caller: Caller, userId: string, input: UpdateUserInput): Promise<UserRow> {
  requirePermission(caller, 'OU_ADMIN');
  const values = parseInput(updateUserInput, input);
  const { tx } = scope;
  await lockOrganisationUnit(tx, caller.ouId);
  const user = await userOfUnit(tx, caller, userId);
  if (values.disabled === true && user.id === caller.userId) {
    throw InvalidInputError.single(['input', 'disabled'], 'you cannot disable yourself');
  }
  const disabling = values.disabled === true && !user.disabledAt;
  const [row] = await tx
    .update(users)
    .set({
      displayName: values.displayName,
      disabledAt: values.disabled === undefined ? undefined : values.disabled ? (user.disabledAt ?? new Date()) : null,
    })
    .where(eq(users.id, userId))
    .returning();
  if (disabling) {
    await ensureAdministratorRemains(tx, caller.ouId);
    await revokeCredentials(scope, { userIds: [userId] });
  }
  const changed = [
    values.displayName !== undefined && values.displayName !== user.displayName ? `name "${user.displayName}" → "${row.displayName}"` : '',
    !!user.disabledAt !== !!row.disabledAt ? (row.disabledAt ? 'disabled (every token and session revoked)' : 'enabled') : '',
  ].filter(Boolean);
  if (changed.length > 0) {
    await recordAudit(tx, caller, { action: 'USER_UPDATED', target: userTarget(row), summary: `User ${row.username}: ${changed.join(', ')}` });
  }
  return row;
}

/**
 * An administrator sets someone's password. Their sessions end (whoever knew the old password is
 * signed out); API tokens stay, they were not obtained with the password. The caller's own current
 * session (`keepSessionId`) stays open when they set their own.
 */
export async function setUserPassword(
  scope: TransactionScope,
  caller: Caller,
  userId: string,
  password: string,
  keepSessionId: string | null,
): Promise<UserRow> {
  requirePermission(caller, 'OU_ADMIN');
  const valid = parseInput(passwordSchema, password, ['input', 'password']);
  const user = await userOfUnit(scope.tx, caller, userId);
  const [row] = await scope.tx
    .update(users)
    .set({ passwordHash: await hashPassword(valid) })
    .where(eq(users.id, user.id))
    .returning();
  await revokeCredentials(scope, { userIds: [user.id], kind: 'SESSION', except: keepSessionId });
  await recordAudit(scope.tx, caller, {
    action: 'USER_PASSWORD_SET',
    target: userTarget(user),
    summary: `Password of ${user.username} set; their sessions ended`,
  });
  return row;
}

/** Replaces the user's roles. */
export async function setUserRoles(scope: TransactionScope, caller: Caller, userId: string, roleIds: string[]): Promise<UserRow> {
  requirePermission(caller, 'OU_ADMIN');
  const ids = parseInput(roleIdsSchema, roleIds, ['input', 'roleIds']);
  const { tx } = scope;
  await lockOrganisationUnit(tx, caller.ouId);
  const user = await userOfUnit(tx, caller, userId);
  const newRoles = await rolesOfUnit(tx, caller, ids);
  const before = await permissionsOfUser(tx, user.id);
  await tx.delete(userRoles).where(eq(userRoles.userId, user.id));
  if (ids.length > 0) await tx.insert(userRoles).values(ids.map((roleId) => ({ userId: user.id, roleId, ouId: caller.ouId })));
  if (lostAny(before, unionOfPermissions(newRoles))) {
    await ensureAdministratorRemains(tx, caller.ouId);
    permissionsReduced(scope, [user.id]);
  }
  await recordAudit(tx, caller, {
    action: 'USER_ROLES_SET',
    target: userTarget(user),
    summary: `Roles of ${user.username}: ${newRoles.map((r) => r.name).join(', ') || 'none'}`,
    details: { roleIds: ids, permissionsBefore: before, permissionsAfter: unionOfPermissions(newRoles) },
  });
  return user;
}

/**
 * A user changes their own password, proving the current one. The proof counts like a sign-in
 * attempt (outside the change's transaction, so that a wrong guess stays counted) so that a stolen
 * session cannot be used to guess the password. Their other sessions end.
 */
export async function changeOwnPassword(
  deps: { db: Database; events: EventBus },
  caller: Caller,
  input: { currentPassword: string; newPassword: string },
  keepSessionId: string | null,
): Promise<UserRow> {
  if (!caller.userId) throw new NotFoundError('User', 'system');
  const newPassword = parseInput(passwordSchema, input.newPassword, ['input', 'newPassword']);
  const user = await userOfUnit(deps.db, caller, caller.userId);
  if (!user.passwordHash) {
    throw InvalidInputError.single(['input', 'currentPassword'], 'you have no password yet: ask an administrator to set one');
  }
  const attempt = usernameKey(user.username);
  await countAttempt(deps.db, [attempt]);
  if (!(await verifyPassword(input.currentPassword, user.passwordHash))) {
    throw InvalidInputError.single(['input', 'currentPassword'], 'is not your current password');
  }
  await forgiveAttempt(deps.db, { username: attempt });
  const passwordHash = await hashPassword(newPassword);
  return inTransaction(deps, async (scope) => {
    const [row] = await scope.tx.update(users).set({ passwordHash }).where(eq(users.id, user.id)).returning();
    await revokeCredentials(scope, { userIds: [user.id], kind: 'SESSION', except: keepSessionId });
    await recordAudit(scope.tx, caller, { action: 'PASSWORD_CHANGED', target: userTarget(user), summary: `${user.username} changed their password` });
    return row;
  });
}
