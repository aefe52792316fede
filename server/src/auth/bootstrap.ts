/**
 * First start: one organisation unit, an Administrator role with every permission, and a user
 * `admin` holding it, with an API token that is ADMIN_TOKEN from the environment or a generated one
 * (shown once by main.ts). Runs under an advisory lock so that instances starting together on an
 * empty database bootstrap once.
 *
 * Later starts change nothing, except that an ADMIN_TOKEN the database has never seen is registered
 * for `admin` (replacing the previous one from the environment): the way back in for an operator who
 * lost every credential. A token that was revoked through the API stays revoked.
 */
import { and, asc, count, eq, isNull, sql } from 'drizzle-orm';
import type { Database, Transaction } from '../db/client.js';
import { apiTokens, organisationUnits, PERMISSIONS, roles, userRoles, users } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { hashSecret } from '../domain/secrets.js';
import { inTransaction, type TransactionScope } from '../domain/transaction.js';
import type { EventBus } from '../events/bus.js';
import { issueCredential, revokeCredentials } from './credentials.js';
import { hashPassword, passwordSchema } from './passwords.js';

export const FIRST_OU_NAME = 'Default';
export const ADMIN_USERNAME = 'admin';
export const ADMIN_ROLE_NAME = 'Administrator';
/** The name of the token registered from ADMIN_TOKEN. */
export const ENVIRONMENT_TOKEN_NAME = 'ADMIN_TOKEN (environment)';
const GENERATED_TOKEN_NAME = 'Administrator token (generated at first start)';

/** Arbitrary constant: serialises bootstrapping across instances (the migration lock is 727_001). */
const BOOTSTRAP_LOCK_KEY = 727_002;

/** ADMIN_TOKEN is stored as a fast hash like every token, so it must be as unguessable as a generated one. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;

export interface BootstrapOptions {
  /** ADMIN_TOKEN. */
  adminToken?: string | undefined;
  /** ADMIN_PASSWORD: set for `admin` at first start only. */
  adminPassword?: string | undefined;
}

export interface BootstrapOutcome {
  /** True on the start that created the first unit's administrator. */
  firstStart: boolean;
  ouName: string;
  adminUsername: string;
  /** The token generated at first start; exists nowhere else, so it must be shown now. */
  generatedAdminToken: string | null;
  /** Whether ADMIN_TOKEN was registered by this start. */
  registeredEnvironmentToken: boolean;
  /** Something the operator should know (e.g. ADMIN_TOKEN ignored because it was revoked). */
  warnings: string[];
  /**
   * The administrator of the first unit acting with every permission, for seeding demo data.
   * Never used for requests: they act as whoever their credential names.
   */
  adminCaller: Caller;
}

export function checkBootstrapOptions(options: BootstrapOptions): void {
  if (options.adminToken !== undefined && options.adminToken.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new Error(`ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters of random text (for example the output of \`openssl rand -base64 32\`)`);
  }
  if (options.adminPassword !== undefined) {
    const valid = passwordSchema.safeParse(options.adminPassword);
    if (!valid.success) throw new Error(`ADMIN_PASSWORD ${valid.error.issues[0].message}`);
  }
}

export async function bootstrapAdministrator(deps: { db: Database; events: EventBus }, options: BootstrapOptions): Promise<BootstrapOutcome> {
  checkBootstrapOptions(options);
  const passwordHash = options.adminPassword ? await hashPassword(options.adminPassword) : null;
  return inTransaction(deps, async (scope) => {
    const { tx } = scope;
    await tx.execute(sql`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK_KEY})`);
    const [{ n: roleCount }] = await tx.select({ n: count() }).from(roles);
    const firstStart = Number(roleCount) === 0;
    const warnings: string[] = [];
    let generatedAdminToken: string | null = null;
    let registeredEnvironmentToken = false;

    const admin = firstStart ? await createAdministrator(tx, passwordHash) : await findAdministrator(tx);
    if (firstStart && admin) {
      const issued = await issueCredential(tx, {
        kind: 'API_TOKEN',
        userId: admin.id,
        ouId: admin.ouId,
        name: options.adminToken ? ENVIRONMENT_TOKEN_NAME : GENERATED_TOKEN_NAME,
        permissions: null,
        expiresAt: null,
        createdBy: null,
        secret: options.adminToken,
      });
      if (!options.adminToken) generatedAdminToken = issued.secret;
      registeredEnvironmentToken = !!options.adminToken;
    } else if (options.adminToken) {
      const outcome = await registerEnvironmentToken(scope, admin, options.adminToken);
      registeredEnvironmentToken = outcome === 'registered';
      if (outcome === 'revoked') warnings.push('ADMIN_TOKEN was revoked through the API and stays revoked: set a new one to get back in.');
      if (outcome === 'no-admin') warnings.push(`ADMIN_TOKEN ignored: there is no enabled user "${ADMIN_USERNAME}".`);
    }

    const [ou] = admin
      ? await tx.select().from(organisationUnits).where(eq(organisationUnits.id, admin.ouId))
      : await tx.select().from(organisationUnits).orderBy(asc(organisationUnits.createdAt)).limit(1);
    return {
      firstStart,
      ouName: ou?.name ?? FIRST_OU_NAME,
      adminUsername: ADMIN_USERNAME,
      generatedAdminToken,
      registeredEnvironmentToken,
      warnings,
      adminCaller: {
        userId: admin?.id ?? null,
        displayName: admin?.displayName ?? 'System',
        ouId: ou?.id ?? '',
        permissions: new Set(PERMISSIONS),
      },
    };
  });
}

type UserRow = typeof users.$inferSelect;

/** The oldest unit (one that already holds data) or a new one; its Administrator role; `admin`. */
async function createAdministrator(tx: Transaction, passwordHash: string | null): Promise<UserRow> {
  let [ou] = await tx.select().from(organisationUnits).orderBy(asc(organisationUnits.createdAt)).limit(1);
  [ou] = ou ? [ou] : await tx.insert(organisationUnits).values({ name: FIRST_OU_NAME }).returning();
  const [role] = await tx
    .insert(roles)
    .values({ ouId: ou.id, name: ADMIN_ROLE_NAME, description: 'Every permission, including managing users, roles and tokens.', permissions: [...PERMISSIONS] })
    .returning();
  let [admin] = await tx.select().from(users).where(eq(users.username, ADMIN_USERNAME));
  if (admin) {
    [admin] = await tx
      .update(users)
      .set({ passwordHash: passwordHash ?? admin.passwordHash, disabledAt: null })
      .where(eq(users.id, admin.id))
      .returning();
  } else {
    [admin] = await tx.insert(users).values({ ouId: ou.id, username: ADMIN_USERNAME, displayName: 'Administrator', passwordHash }).returning();
  }
  await tx.insert(userRoles).values({ userId: admin.id, roleId: role.id, ouId: admin.ouId });
  return admin;
}

async function findAdministrator(tx: Transaction): Promise<UserRow | undefined> {
  const [admin] = await tx.select().from(users).where(eq(users.username, ADMIN_USERNAME));
  return admin;
}

async function registerEnvironmentToken(
  scope: TransactionScope,
  admin: UserRow | undefined,
  token: string,
): Promise<'known' | 'revoked' | 'registered' | 'no-admin'> {
  const { tx } = scope;
  const [existing] = await tx
    .select()
    .from(apiTokens)
    .where(eq(apiTokens.tokenHash, hashSecret(token)));
  if (existing) return existing.revokedAt ? 'revoked' : 'known';
  if (!admin || admin.disabledAt) return 'no-admin';
  const previous = await tx
    .select({ id: apiTokens.id })
    .from(apiTokens)
    .where(and(eq(apiTokens.userId, admin.id), eq(apiTokens.name, ENVIRONMENT_TOKEN_NAME), isNull(apiTokens.revokedAt)));
  await revokeCredentials(scope, { tokenIds: previous.map((p) => p.id) });
  await issueCredential(tx, {
    kind: 'API_TOKEN',
    userId: admin.id,
    ouId: admin.ouId,
    name: ENVIRONMENT_TOKEN_NAME,
    permissions: null,
    expiresAt: null,
    createdBy: null,
    secret: token,
  });
  return 'registered';
}
