/**
 * Dashboard sign-in: a username and password, or an API token, is exchanged for a session (a
 * credential of kind SESSION that the HTTP layer puts in an HttpOnly cookie and never shows to the
 * page). A session opened with an API token carries that token's permissions, ends when the token
 * is revoked, and never outlives it.
 */
import { and, eq, lt, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.js';
import { apiTokens, users } from '../db/schema.js';
import { recordAudit, recordAuditAs } from '../domain/audit.js';
import type { Caller } from '../domain/caller.js';
import { InvalidInputError } from '../domain/errors.js';
import { inTransaction } from '../domain/transaction.js';
import type { EventBus } from '../events/bus.js';
import { authenticateToken, type Credential, type Identity, issueCredential, revokeCredentials } from './credentials.js';
import { SignInFailedError } from './errors.js';
import { verifyPassword } from './passwords.js';
import { addressKey, countAttempt, forgetOldAttempts, forgiveAttempt, usernameKey } from './throttle.js';

export interface SignInInput {
  username?: string | null;
  password?: string | null;
  token?: string | null;
}

export interface SignInContext {
  /** Where the attempt comes from, for the per-address limit. */
  clientAddress: string;
  sessionTtlMinutes: number;
  /** The session the browser had, ended by signing in again. */
  previousSessionId?: string | null;
}

export interface SignedIn {
  identity: Identity;
  /** The session token: for the cookie only. */
  sessionSecret: string;
  expiresAt: Date;
}

type Deps = { db: Database; events: EventBus };

/** Give the token, or the username and the password; the lengths only bound the work a request can cause. */
const signInInput = z.union([
  z.object({ token: z.string().min(1).max(512), username: z.null().optional(), password: z.null().optional() }),
  z.object({ username: z.string().min(1).max(256), password: z.string().min(1).max(1024), token: z.null().optional() }),
]);

/** Kept for a day after they end so that "signed out" and "expired" can still be told apart. */
const ENDED_SESSION_RETENTION = sql`interval '1 day'`;

export async function signIn(deps: Deps, input: SignInInput, context: SignInContext, now = new Date()): Promise<SignedIn> {
  const parsed = signInInput.safeParse(input);
  if (!parsed.success) {
    throw InvalidInputError.single(['input'], 'give a username and a password, or an API token');
  }
  const address = addressKey(context.clientAddress);
  const username = parsed.data.username ? usernameKey(parsed.data.username) : undefined;
  await countAttempt(deps.db, username ? [username, address] : [address]);

  const grant =
    parsed.data.token !== undefined && parsed.data.token !== null
      ? await grantOfToken(deps.db, parsed.data.token)
      : await grantOfPassword(deps.db, parsed.data.username!, parsed.data.password!);
  if (!grant) {
    if (parsed.data.username) await auditFailedSignIn(deps, parsed.data.username, context.clientAddress);
    throw new SignInFailedError();
  }

  const ttlEnd = new Date(now.getTime() + context.sessionTtlMinutes * 60_000);
  const expiresAt = grant.expiresAt && grant.expiresAt < ttlEnd ? grant.expiresAt : ttlEnd;
  const { secret } = await inTransaction(deps, async (scope) => {
    const issued = await issueCredential(scope.tx, {
      kind: 'SESSION',
      userId: grant.userId,
      ouId: grant.ouId,
      name: grant.sessionName,
      permissions: grant.permissions,
      parentTokenId: grant.parentTokenId,
      trustedDocumentsOnly: grant.trustedDocumentsOnly,
      expiresAt,
      createdBy: grant.userId,
    });
    await scope.tx.update(users).set({ lastSignInAt: now }).where(eq(users.id, grant.userId));
    if (context.previousSessionId) await revokeCredentials(scope, { tokenIds: [context.previousSessionId], kind: 'SESSION' });
    await recordAuditAs(
      scope.tx,
      {
        ouId: grant.ouId,
        actorId: grant.userId,
        actorName: grant.displayName,
        origin: { clientAddress: context.clientAddress, credentialKind: 'SESSION', credentialId: issued.row.id, credentialName: issued.row.name },
      },
      {
        action: 'SIGNED_IN',
        target: { type: 'USER', id: grant.userId, name: grant.username },
        summary: grant.parentTokenId ? `Signed in with API token "${grant.tokenName}"` : 'Signed in with a password',
        details: { method: grant.parentTokenId ? 'TOKEN' : 'PASSWORD', parentTokenId: grant.parentTokenId },
      },
    );
    await scope.tx
      .delete(apiTokens)
      .where(
        and(
          eq(apiTokens.userId, grant.userId),
          eq(apiTokens.kind, 'SESSION'),
          or(lt(apiTokens.expiresAt, sql`now() - ${ENDED_SESSION_RETENTION}`), lt(apiTokens.revokedAt, sql`now() - ${ENDED_SESSION_RETENTION}`)),
        ),
      );
    return issued;
  });
  await forgiveAttempt(deps.db, { username, address });
  await forgetOldAttempts(deps.db);

  const session = await authenticateToken(deps.db, secret, 'SESSION', now);
  if (!session.identity) throw new SignInFailedError();
  return { identity: session.identity, sessionSecret: secret, expiresAt };
}

/**
 * A wrong password for a user that exists is recorded in that user's unit (for their
 * administrator); attempts with unknown names or tokens belong to no unit and are only counted by
 * the throttle.
 */
async function auditFailedSignIn(deps: Deps, username: string, clientAddress: string): Promise<void> {
  const [user] = await deps.db
    .select({ id: users.id, ouId: users.ouId, username: users.username, displayName: users.displayName, disabledAt: users.disabledAt })
    .from(users)
    .where(eq(users.username, username.trim().toLowerCase()));
  if (!user) return;
  await recordAuditAs(
    deps.db,
    { ouId: user.ouId, actorId: user.id, actorName: user.displayName, origin: { clientAddress } },
    {
      action: 'SIGN_IN_FAILED',
      target: { type: 'USER', id: user.id, name: user.username },
      summary: user.disabledAt ? 'Sign-in refused: the user is disabled' : 'Sign-in failed: wrong password',
    },
  );
}

interface Grant {
  userId: string;
  username: string;
  displayName: string;
  /** The API token exchanged for the session (null: a password). */
  tokenName: string | null;
  ouId: string;
  permissions: NonNullable<typeof apiTokens.$inferSelect.permissions> | null;
  parentTokenId: string | null;
  expiresAt: Date | null;
  sessionName: string;
  /** A session opened with a token restricted to trusted documents is restricted too. */
  trustedDocumentsOnly: boolean;
}

async function grantOfPassword(db: Database, username: string, password: string): Promise<Grant | null> {
  const [user] = await db.select().from(users).where(eq(users.username, username.trim().toLowerCase()));
  // Verified even when there is no such user (against a dummy hash): the time does not tell.
  const matches = await verifyPassword(password, user?.passwordHash);
  if (!user || !matches || user.disabledAt) return null;
  return {
    userId: user.id,
    username: user.username,
    displayName: user.displayName,
    tokenName: null,
    ouId: user.ouId,
    permissions: null,
    parentTokenId: null,
    expiresAt: null,
    sessionName: 'Dashboard session',
    trustedDocumentsOnly: false,
  };
}

async function grantOfToken(db: Database, token: string): Promise<Grant | null> {
  const authenticated = await authenticateToken(db, token, 'API_TOKEN');
  if (!authenticated.identity) return null;
  const { credential } = authenticated.identity;
  const [row] = await db.select().from(apiTokens).where(eq(apiTokens.id, credential.tokenId));
  const [user] = await db.select({ username: users.username, displayName: users.displayName }).from(users).where(eq(users.id, credential.userId));
  return {
    userId: credential.userId,
    username: user.username,
    displayName: user.displayName,
    tokenName: row.name,
    ouId: credential.ouId,
    permissions: row.permissions,
    parentTokenId: row.id,
    expiresAt: row.expiresAt,
    sessionName: `Dashboard session (token "${row.name}")`,
    trustedDocumentsOnly: row.trustedDocumentsOnly,
  };
}

/**
 * Whether anyone can sign in with a password at all. A first start without ADMIN_PASSWORD leaves
 * only the administrator's token: the sign-in page then opens on the token tab.
 */
export async function passwordSignInAvailable(db: Database): Promise<boolean> {
  const [row] = await db
    .select({ id: users.id })
    .from(users)
    .where(and(sql`${users.passwordHash} is not null`, sql`${users.disabledAt} is null`))
    .limit(1);
  return row !== undefined;
}

/** Ends the session the request came with; false when it came with none. */
export async function signOut(deps: Deps, credential: Credential | null, caller: Caller | null): Promise<boolean> {
  if (credential?.kind !== 'SESSION') return false;
  await inTransaction(deps, async (scope) => {
    await revokeCredentials(scope, { tokenIds: [credential.tokenId] });
    if (caller)
      await recordAudit(scope.tx, caller, {
        action: 'SIGNED_OUT',
        target: caller.userId ? { type: 'USER', id: caller.userId, name: caller.displayName } : undefined,
        summary: 'Signed out',
      });
  });
  return true;
}
