/**
 * Every organisation unit keeps an administrator. Changes that can take OU_ADMIN away from someone
 * (disabling a user, changing their roles, changing or deleting a role) lock the unit's row first,
 * so that two administrators demoting each other at the same moment run one after the other and
 * the second one sees that it would remove the last administrator.
 */
import { sql } from 'drizzle-orm';
import type { Transaction } from '../db/client.js';
import { queryRows } from '../db/sql.js';
import { LastAdministratorError } from './errors.js';

export async function lockOrganisationUnit(tx: Transaction, ouId: string): Promise<void> {
  await tx.execute(sql`select id from organisation_units where id = ${ouId} for update`);
}

/** Call after the change, in its transaction (after lockOrganisationUnit): throws to roll it back. */
export async function ensureAdministratorRemains(tx: Transaction, ouId: string): Promise<void> {
  const [row] = await queryRows<{ n: number | string }>(
    tx,
    sql`select count(distinct u.id) as n
        from users u
        join user_roles ur on ur.user_id = u.id
        join roles r on r.id = ur.role_id
        where u.ou_id = ${ouId} and u.disabled_at is null and 'OU_ADMIN' = any(r.permissions)`,
  );
  if (Number(row.n) === 0) throw new LastAdministratorError();
}
