/**
 * First start: make sure one organisation unit and one user exist to act as. The auth issue adds
 * real accounts, roles and tokens on top; until then every request acts as this development user
 * with every permission.
 */
import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { organisationUnits, PERMISSIONS, users } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';

export const DEFAULT_OU_NAME = 'Demo';

export async function ensureDevelopmentCaller(db: Database): Promise<Caller> {
  return db.transaction(async (tx) => {
    let [ou] = await tx.select().from(organisationUnits).where(eq(organisationUnits.name, DEFAULT_OU_NAME));
    if (!ou) {
      [ou] = await tx.insert(organisationUnits).values({ name: DEFAULT_OU_NAME }).onConflictDoNothing().returning();
      ou ??= (await tx.select().from(organisationUnits).where(eq(organisationUnits.name, DEFAULT_OU_NAME)))[0];
    }
    let [user] = await tx.select().from(users).where(eq(users.username, 'dev'));
    if (!user) {
      [user] = await tx.insert(users).values({ ouId: ou.id, username: 'dev', displayName: 'Developer' }).onConflictDoNothing().returning();
      user ??= (await tx.select().from(users).where(eq(users.username, 'dev')))[0];
    }
    return { userId: user.id, displayName: user.displayName, ouId: ou.id, permissions: new Set(PERMISSIONS) };
  });
}
