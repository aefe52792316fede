/**
 * API tokens and sessions as credentials: issuing one (the secret is returned once, only its
 * SHA-256 is stored), resolving one to the caller it acts as, and ending them.
 *
 * A credential acts with its own permissions ∩ its user's current role permissions, so taking a
 * role away from a user takes it away from every token of theirs at once.
 */
import { and, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { preparedFor } from '../db/prepared.js';
import { apiTokens, type CredentialKind, type Permission, PERMISSIONS } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { generateSecret, hashSecret } from '../domain/secrets.js';
import type { TransactionScope } from '../domain/transaction.js';

/** Recognisable in logs and by secret scanners; the rest is 256 random bits. */
export const TOKEN_PREFIX = 'updraft_';

export function newTokenSecret(): string {
  return TOKEN_PREFIX + generateSecret();
}

/** The credential a request authenticated with. */
export interface Credential {
  tokenId: string;
  kind: CredentialKind;
  /** The token's name ("Dashboard session" for a session), for the audit log. */
  name: string;
  userId: string;
  ouId: string;
  expiresAt: Date | null;
  /** It may run trusted documents only (docs/integrations.md), no query of its own. */
  trustedDocumentsOnly: boolean;
}

/** Who a valid credential acts as. */
export interface Identity {
  caller: Caller & { userId: string };
  credential: Credential;
  /** The roles of the user, for fields a user may read about their own roles. */
  roleIds: string[];
}

export type Authentication = { identity: Identity; problem?: undefined } | { identity?: undefined; problem: string };

/** The permissions of a set of roles, in the order of the Permission enum. */
export function unionOfPermissions(roles: readonly { permissions: readonly Permission[] }[]): Permission[] {
  const granted = new Set(roles.flatMap((role) => role.permissions));
  return PERMISSIONS.filter((p) => granted.has(p));
}

/** What a credential may do: its own permissions (null = all) within what its user's roles grant now. */
export function effectivePermissions(userPermissions: readonly Permission[], tokenPermissions: readonly Permission[] | null): Permission[] {
  return tokenPermissions === null ? [...userPermissions] : userPermissions.filter((p) => tokenPermissions.includes(p));
}

/** Writing last-used on every request would turn every read into a write; once a minute is enough to show. */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Resolves a presented token of the expected kind (API tokens come as Bearer, sessions as the
 * cookie; neither works in the other's place). The problem, when there is one, is safe to show to
 * whoever presented the token.
 */
export async function authenticateToken(db: Executor, token: string, kind: CredentialKind, now = new Date()): Promise<Authentication> {
  // Every request runs this: prepared once per handle (db/prepared.ts), it takes a quarter of the time.
  const lookup = preparedFor(db, 'authenticate_token', () =>
    db.query.apiTokens
      .findFirst({
        where: { tokenHash: sql.placeholder('tokenHash') },
        with: { user: { with: { roles: { columns: { id: true, permissions: true } } } } },
      })
      .prepare('authenticate_token'),
  );
  const row = await lookup.execute({ tokenHash: hashSecret(token) });
  const what = kind === 'SESSION' ? 'session' : 'token';
  if (!row || row.kind !== kind) return { problem: `The ${what} is not valid` };
  if (row.revokedAt) return { problem: kind === 'SESSION' ? 'The session has ended' : 'The token was revoked' };
  if (row.expiresAt && row.expiresAt <= now) return { problem: `The ${what} expired at ${row.expiresAt.toISOString()}` };
  if (row.user.disabledAt) return { problem: 'The user is disabled' };

  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await db.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, row.id));
  }
  const permissions = effectivePermissions(unionOfPermissions(row.user.roles), row.permissions);
  return {
    identity: {
      caller: { userId: row.userId, displayName: row.user.displayName, ouId: row.ouId, permissions: new Set(permissions) },
      credential: {
        tokenId: row.id,
        kind: row.kind,
        name: row.name,
        userId: row.userId,
        ouId: row.ouId,
        expiresAt: row.expiresAt,
        trustedDocumentsOnly: row.trustedDocumentsOnly,
      },
      roleIds: row.user.roles.map((role) => role.id),
    },
  };
}

/**
 * Whether a credential still works, for what was opened with it just before a revocation could be
 * heard of (the watch starts after authentication: a revocation in between would go unnoticed).
 */
export async function isCredentialActive(db: Executor, tokenId: string, now = new Date()): Promise<boolean> {
  const row = await db.query.apiTokens.findFirst({
    where: { id: tokenId },
    columns: { revokedAt: true, expiresAt: true },
    with: { user: { columns: { disabledAt: true } } },
  });
  return !!row && !row.revokedAt && (!row.expiresAt || row.expiresAt > now) && !row.user.disabledAt;
}

export interface IssueCredential {
  kind: CredentialKind;
  userId: string;
  ouId: string;
  name: string;
  /** Null: whatever the user's roles grant. */
  permissions: Permission[] | null;
  expiresAt: Date | null;
  parentTokenId?: string | null;
  createdBy: string | null;
  /** Trusted documents only (a session opened with such a token inherits it). */
  trustedDocumentsOnly?: boolean;
  /** A given secret (ADMIN_TOKEN); otherwise a new random one. */
  secret?: string;
}

export type CredentialRow = typeof apiTokens.$inferSelect;

/** Stores a new credential; the returned secret exists nowhere else. */
export async function issueCredential(db: Executor, input: IssueCredential): Promise<{ secret: string; row: CredentialRow }> {
  const secret = input.secret ?? newTokenSecret();
  const [row] = await db
    .insert(apiTokens)
    .values({
      kind: input.kind,
      userId: input.userId,
      ouId: input.ouId,
      name: input.name,
      permissions: input.permissions,
      expiresAt: input.expiresAt,
      parentTokenId: input.parentTokenId ?? null,
      createdBy: input.createdBy,
      trustedDocumentsOnly: input.trustedDocumentsOnly ?? false,
      tokenHash: hashSecret(secret),
    })
    .returning();
  return { secret, row };
}

/**
 * Revokes credentials (and the sessions opened by exchanging them) and tells every instance, after
 * the commit, to close what was opened with them. Already revoked ones stay as they were.
 */
export async function revokeCredentials(
  { tx, emit }: TransactionScope,
  which: { tokenIds?: string[]; userIds?: string[]; kind?: CredentialKind; except?: string | null },
): Promise<string[]> {
  const tokenIds = which.tokenIds ?? [];
  const userIds = which.userIds ?? [];
  if (tokenIds.length === 0 && userIds.length === 0) return [];
  const matches = or(
    tokenIds.length ? inArray(apiTokens.id, tokenIds) : undefined,
    tokenIds.length ? inArray(apiTokens.parentTokenId, tokenIds) : undefined,
    userIds.length ? inArray(apiTokens.userId, userIds) : undefined,
  );
  const revoked = await tx
    .update(apiTokens)
    .set({ revokedAt: sql`now()` })
    .where(
      and(
        matches,
        isNull(apiTokens.revokedAt),
        which.kind ? eq(apiTokens.kind, which.kind) : undefined,
        which.except ? sql`${apiTokens.id} <> ${which.except}` : undefined,
      ),
    )
    .returning({ id: apiTokens.id });
  const ids = revoked.map((r) => r.id);
  if (ids.length > 0) emit({ topic: 'auth:revoked', args: [{ tokenIds: ids, userIds: [], reason: 'REVOKED' }] });
  return ids;
}

/** The users' credentials keep working with fewer permissions: what they opened must be reopened. */
export function permissionsReduced({ emit }: TransactionScope, userIds: string[]): void {
  if (userIds.length > 0) emit({ topic: 'auth:revoked', args: [{ tokenIds: [], userIds, reason: 'PERMISSIONS_REDUCED' }] });
}
