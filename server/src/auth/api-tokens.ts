/**
 * API tokens for integrations. Anyone signed in manages their own tokens; administrators (OU_ADMIN)
 * also those of the other users of their unit (e.g. a service user for CI).
 *
 * A new token may carry only permissions the caller itself acts with right now, and only ones the
 * owner's roles grant: a token restricted to OTA_READ cannot mint one with OTA_CONTROL.
 */
import { and, desc, eq, gt, isNull, or } from 'drizzle-orm';
import { z } from 'zod';
import type { Executor } from '../db/client.js';
import { apiTokens } from '../db/schema.js';
import { recordAudit } from '../domain/audit.js';
import { type Caller, requirePermission } from '../domain/caller.js';
import { InvalidInputError, NotFoundError } from '../domain/errors.js';
import type { TransactionScope } from '../domain/transaction.js';
import { parseInput } from '../domain/validation.js';
import { type CredentialRow, issueCredential, revokeCredentials } from './credentials.js';
import { permissionsOfUser, userOfUnit } from './users.js';
import { nameSchema, permissionSetSchema } from './validation.js';

const createApiTokenInput = z.object({
  name: nameSchema(100),
  permissions: permissionSetSchema.refine((list) => list.length > 0, 'must grant at least one permission'),
  expiresAt: z.date().nullish(),
  userId: z.string().nullish(),
  trustedDocumentsOnly: z.boolean().nullish(),
});
export type CreateApiTokenInput = z.input<typeof createApiTokenInput>;

function ownUserId(caller: Caller): string {
  if (!caller.userId) throw new NotFoundError('User', 'system');
  return caller.userId;
}

/** The owner whose tokens the caller manages: itself, or (OU_ADMIN) another user of its unit. */
async function ownerFor(db: Executor, caller: Caller, userId: string | null | undefined): Promise<string> {
  const self = ownUserId(caller);
  if (!userId || userId === self) return self;
  requirePermission(caller, 'OU_ADMIN');
  return (await userOfUnit(db, caller, userId)).id;
}

export async function createApiToken(
  { tx }: TransactionScope,
  caller: Caller,
  input: CreateApiTokenInput,
  now = new Date(),
): Promise<{ secret: string; row: CredentialRow }> {
  const values = parseInput(createApiTokenInput, input);
  const ownerId = await ownerFor(tx, caller, values.userId);
  if (values.expiresAt && values.expiresAt <= now) {
    throw InvalidInputError.single(['input', 'expiresAt'], 'must be in the future');
  }
  const owner = await permissionsOfUser(tx, ownerId);
  const excess = values.permissions.filter((p) => !owner.includes(p) || !caller.permissions.has(p));
  if (excess.length > 0) {
    throw InvalidInputError.single(['input', 'permissions'], `a token can only carry permissions its owner has and you act with now; not ${excess.join(', ')}`);
  }
  const issued = await issueCredential(tx, {
    kind: 'API_TOKEN',
    userId: ownerId,
    ouId: caller.ouId,
    name: values.name,
    permissions: values.permissions,
    expiresAt: values.expiresAt ?? null,
    createdBy: caller.userId,
    trustedDocumentsOnly: values.trustedDocumentsOnly ?? false,
  });
  // The secret is never logged or audited; the token's id and name are.
  await recordAudit(tx, caller, {
    action: 'TOKEN_CREATED',
    target: { type: 'API_TOKEN', id: issued.row.id, name: issued.row.name },
    summary: `API token "${issued.row.name}" created${ownerId === caller.userId ? '' : ' for another user'}: ${values.permissions.join(', ') || 'no permissions'}${issued.row.expiresAt ? `, expires ${issued.row.expiresAt.toISOString()}` : ', no expiry'}`,
    details: { ownerId, permissions: values.permissions, expiresAt: issued.row.expiresAt, trustedDocumentsOnly: issued.row.trustedDocumentsOnly },
  });
  return issued;
}

/** API tokens of the caller (or, for OU_ADMIN, of another user), newest first. */
export async function listApiTokens(
  db: Executor,
  caller: Caller,
  filter: { userId?: string | null; includeInactive?: boolean | null },
  now = new Date(),
): Promise<CredentialRow[]> {
  const ownerId = await ownerFor(db, caller, filter.userId);
  return db
    .select()
    .from(apiTokens)
    .where(
      and(
        eq(apiTokens.ouId, caller.ouId),
        eq(apiTokens.userId, ownerId),
        eq(apiTokens.kind, 'API_TOKEN'),
        filter.includeInactive ? undefined : and(isNull(apiTokens.revokedAt), or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, now))),
      ),
    )
    .orderBy(desc(apiTokens.createdAt), desc(apiTokens.id));
}

/**
 * Revokes a token (or a session) and the sessions opened with it; their open subscriptions end on
 * every instance. Revoking one that is already revoked changes nothing.
 */
export async function revokeApiToken(scope: TransactionScope, caller: Caller, tokenId: string): Promise<CredentialRow> {
  const [token] = await scope.tx
    .select()
    .from(apiTokens)
    .where(and(eq(apiTokens.id, tokenId), eq(apiTokens.ouId, caller.ouId)));
  if (!token) throw new NotFoundError('ApiToken', tokenId);
  if (token.userId !== ownUserId(caller)) requirePermission(caller, 'OU_ADMIN');
  await revokeCredentials(scope, { tokenIds: [token.id] });
  const [row] = await scope.tx.select().from(apiTokens).where(eq(apiTokens.id, token.id));
  if (!token.revokedAt) {
    await recordAudit(scope.tx, caller, {
      action: 'TOKEN_REVOKED',
      target: { type: 'API_TOKEN', id: token.id, name: token.name },
      summary: `${token.kind === 'SESSION' ? 'Session' : 'API token'} "${token.name}" revoked`,
      details: { ownerId: token.userId, kind: token.kind },
    });
  }
  return row;
}

/** Whether the token works now (not revoked, not expired). */
export function isActive(token: Pick<CredentialRow, 'revokedAt' | 'expiresAt'>, now = new Date()): boolean {
  return !token.revokedAt && (!token.expiresAt || token.expiresAt > now);
}
