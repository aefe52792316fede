/**
 * Roles: named permission sets of one organisation unit, managed by its administrators (OU_ADMIN).
 * Changing or deleting a role changes the permissions of every holder (and of their tokens) at once.
 */
import { and, asc, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import type { Executor } from '../db/client.js';
import { type Permission, roles, userRoles } from '../db/schema.js';
import { countOf, recordAudit } from '../domain/audit.js';
import { type Caller, requirePermission } from '../domain/caller.js';
import { AlreadyExistsError, NotFoundError } from '../domain/errors.js';
import { isUniqueViolation } from '../db/errors.js';
import type { TransactionScope } from '../domain/transaction.js';
import { parseInput } from '../domain/validation.js';
import { permissionsReduced } from './credentials.js';
import { ensureAdministratorRemains, lockOrganisationUnit } from './unit-guard.js';
import { nameSchema, permissionSetSchema } from './validation.js';

export type RoleRow = typeof roles.$inferSelect;

const createRoleInput = z.object({
  name: nameSchema(60),
  description: z.string().trim().max(500, 'must be at most 500 characters').default(''),
  permissions: permissionSetSchema,
});
export type CreateRoleInput = z.input<typeof createRoleInput>;

const updateRoleInput = z.object({
  name: nameSchema(60).optional(),
  description: z.string().trim().max(500, 'must be at most 500 characters').optional(),
  permissions: permissionSetSchema.optional(),
});
export type UpdateRoleInput = z.input<typeof updateRoleInput>;

export async function listRoles(db: Executor, caller: Caller): Promise<RoleRow[]> {
  requirePermission(caller, 'OU_ADMIN');
  return db.select().from(roles).where(eq(roles.ouId, caller.ouId)).orderBy(asc(roles.name));
}

/** The roles of the caller's unit with these ids; NotFoundError names the first one that is not there. */
export async function rolesOfUnit(db: Executor, caller: Caller, roleIds: readonly string[]): Promise<RoleRow[]> {
  if (roleIds.length === 0) return [];
  const found = await db
    .select()
    .from(roles)
    .where(and(eq(roles.ouId, caller.ouId), inArray(roles.id, [...roleIds])));
  const missing = roleIds.find((id) => !found.some((role) => role.id === id));
  if (missing) throw new NotFoundError('Role', missing);
  return found;
}

async function roleOfUnit(db: Executor, caller: Caller, roleId: string): Promise<RoleRow> {
  return (await rolesOfUnit(db, caller, [roleId]))[0];
}

async function holders(db: Executor, roleId: string): Promise<string[]> {
  const rows = await db.select({ userId: userRoles.userId }).from(userRoles).where(eq(userRoles.roleId, roleId));
  return rows.map((r) => r.userId);
}

function taken(error: unknown, name: string): unknown {
  return isUniqueViolation(error) ? new AlreadyExistsError('role', 'name', name) : error;
}

function roleTarget(role: RoleRow) {
  return { type: 'ROLE' as const, id: role.id, name: role.name };
}

export async function createRole({ tx }: TransactionScope, caller: Caller, input: CreateRoleInput): Promise<RoleRow> {
  requirePermission(caller, 'OU_ADMIN');
  const values = parseInput(createRoleInput, input);
  try {
    const [row] = await tx
      .insert(roles)
      .values({ ...values, ouId: caller.ouId })
      .returning();
    await recordAudit(tx, caller, {
      action: 'ROLE_CREATED',
      target: roleTarget(row),
      summary: `Role ${row.name} created: ${row.permissions.join(', ') || 'no permissions'}`,
      details: { permissions: row.permissions },
    });
    return row;
  } catch (error) {
    throw taken(error, values.name);
  }
}

export async function updateRole(scope: TransactionScope, caller: Caller, roleId: string, input: UpdateRoleInput): Promise<RoleRow> {
  requirePermission(caller, 'OU_ADMIN');
  const values = parseInput(updateRoleInput, input);
  const { tx } = scope;
  await lockOrganisationUnit(tx, caller.ouId);
  const before = await roleOfUnit(tx, caller, roleId);
  let row: RoleRow;
  try {
    [row] = await tx
      .update(roles)
      .set({ ...values, updatedAt: new Date() })
      .where(and(eq(roles.id, roleId), eq(roles.ouId, caller.ouId)))
      .returning();
  } catch (error) {
    throw taken(error, values.name ?? before.name);
  }
  if (lostAny(before.permissions, row.permissions)) {
    await ensureAdministratorRemains(tx, caller.ouId);
    permissionsReduced(scope, await holders(tx, roleId));
  }
  const added = row.permissions.filter((p) => !before.permissions.includes(p));
  const removed = before.permissions.filter((p) => !row.permissions.includes(p));
  const changed = [
    row.name !== before.name ? `renamed from ${before.name}` : '',
    row.description !== before.description ? 'description changed' : '',
    added.length ? `+${added.join(', +')}` : '',
    removed.length ? `−${removed.join(', −')}` : '',
  ].filter(Boolean);
  if (changed.length > 0) {
    await recordAudit(tx, caller, {
      action: 'ROLE_UPDATED',
      target: roleTarget(row),
      summary: `Role ${row.name}: ${changed.join(', ')}`,
      details: { permissionsAdded: added, permissionsRemoved: removed, nameBefore: before.name },
    });
  }
  return row;
}

/** Deletes the role and its assignments; returns it as it was. */
export async function deleteRole(scope: TransactionScope, caller: Caller, roleId: string): Promise<RoleRow> {
  requirePermission(caller, 'OU_ADMIN');
  const { tx } = scope;
  await lockOrganisationUnit(tx, caller.ouId);
  const role = await roleOfUnit(tx, caller, roleId);
  const affected = await holders(tx, roleId);
  await tx.delete(roles).where(and(eq(roles.id, roleId), eq(roles.ouId, caller.ouId)));
  await ensureAdministratorRemains(tx, caller.ouId);
  if (role.permissions.length > 0) permissionsReduced(scope, affected);
  await recordAudit(tx, caller, {
    action: 'ROLE_DELETED',
    target: roleTarget(role),
    summary: `Role ${role.name} deleted (held by ${countOf(affected.length, 'user')})`,
    details: { permissions: role.permissions, holders: affected },
  });
  return role;
}

export function lostAny(before: readonly Permission[], after: readonly Permission[]): boolean {
  return before.some((p) => !after.includes(p));
}
