/**
 * A further organisation unit with its first administrator, for the operator of the server (there
 * is no API for it: no user of one unit may create another). Used by
 * `pnpm --filter @updraft/server ou:create`.
 */
import { count } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { organisationUnits, PERMISSIONS, roles } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { AlreadyExistsError, InvalidInputError } from '../domain/errors.js';
import { isUniqueViolation } from '../db/errors.js';
import { inTransaction } from '../domain/transaction.js';
import { parseInput } from '../domain/validation.js';
import type { EventBus } from '../events/bus.js';
import { ADMIN_ROLE_NAME } from './bootstrap.js';
import { issueCredential } from './credentials.js';
import { createRole } from './roles.js';
import { createUser } from './users.js';
import { nameSchema } from './validation.js';

const input = z.object({ name: nameSchema(100), adminUsername: z.string(), adminPassword: z.string().optional() });

export interface CreatedUnit {
  ouId: string;
  adminUserId: string;
  /** The administrator's API token: shown once. */
  adminToken: string;
}

export async function createOrganisationUnit(
  deps: { db: Database; events: EventBus },
  request: { name: string; adminUsername: string; adminPassword?: string },
): Promise<CreatedUnit> {
  const values = parseInput(input, request);
  return inTransaction(deps, async (scope) => {
    // Before the first start, the unit would be taken for the first one and no `admin` bootstrapped.
    const [{ n }] = await scope.tx.select({ n: count() }).from(roles);
    if (Number(n) === 0) throw InvalidInputError.single([], 'start the server once first: it creates the first unit and its administrator');
    let ouId: string;
    try {
      [{ id: ouId }] = await scope.tx.insert(organisationUnits).values({ name: values.name }).returning({ id: organisationUnits.id });
    } catch (error) {
      throw isUniqueViolation(error) ? new AlreadyExistsError('unit', 'name', values.name) : error;
    }
    // The new unit's own system: it acts inside the unit being set up, for no user.
    const system: Caller = { userId: null, displayName: 'server operator', ouId, permissions: new Set(PERMISSIONS) };
    const role = await createRole(scope, system, {
      name: ADMIN_ROLE_NAME,
      description: 'Every permission, including managing users, roles and tokens.',
      permissions: [...PERMISSIONS],
    });
    const admin = await createUser(scope, system, { username: values.adminUsername, password: values.adminPassword, roleIds: [role.id] });
    const { secret } = await issueCredential(scope.tx, {
      kind: 'API_TOKEN',
      userId: admin.id,
      ouId,
      name: 'Administrator token (created with the unit)',
      permissions: null,
      expiresAt: null,
      createdBy: null,
    });
    return { ouId, adminUserId: admin.id, adminToken: secret };
  });
}
