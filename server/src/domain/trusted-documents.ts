/**
 * Trusted documents (persisted operations): GraphQL documents registered ahead of time, which a
 * client runs by id (`documentId`, or Apollo's `extensions.persistedQuery.sha256Hash`) without
 * sending the text. An API token created with trustedDocumentsOnly may run nothing else: a mobile
 * app shipped with its documents cannot be turned into a tool for arbitrary queries by whoever
 * extracts its token, and its requests are small.
 *
 * - The dashboard's documents are registered by the server at start from the manifest its build
 *   produced (web/dist/trusted-documents.json); every unit may run them.
 * - A unit registers its integrations' documents (OU_ADMIN); only that unit's callers may run them.
 *
 * A document's id is `sha256:` + the hex SHA-256 of its text exactly as registered, so a client can
 * compute it, and an id can never come to mean another document.
 */
import { createHash } from 'node:crypto';
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Executor } from '../db/client.js';
import { trustedDocuments } from '../db/schema.js';
import { type Caller, requirePermission } from './caller.js';
import { InvalidInputError, NotFoundError } from './errors.js';
import type { TransactionScope } from './transaction.js';
import { parseInput } from './validation.js';

export type TrustedDocumentRow = typeof trustedDocuments.$inferSelect;

export const MAX_DOCUMENTS_PER_REGISTRATION = 500;
export const MAX_DOCUMENT_BYTES = 100_000;

export function documentIdOf(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** What the schema layer says of a document: its operation name, or why it cannot run. */
export type DocumentCheck = { ok: true; operationName: string | null } | { ok: false; problem: string };

const registerInput = z.object({
  clientName: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  documents: z
    .array(z.string().min(1, 'must not be empty').max(MAX_DOCUMENT_BYTES, `must be at most ${MAX_DOCUMENT_BYTES} characters`))
    .min(1, 'must hold at least one document')
    .max(MAX_DOCUMENTS_PER_REGISTRATION, `at most ${MAX_DOCUMENTS_PER_REGISTRATION} per call`),
});

/**
 * Registers a unit's documents; each must parse and validate against the schema (`check`).
 * Registering a document again changes nothing and answers the same id. All or nothing.
 */
export async function registerTrustedDocuments(
  scope: TransactionScope,
  caller: Caller,
  input: z.input<typeof registerInput>,
  check: (text: string) => DocumentCheck,
): Promise<TrustedDocumentRow[]> {
  requirePermission(caller, 'OU_ADMIN');
  const values = parseInput(registerInput, input);
  const checked = values.documents.map((text, i) => ({ text, i, result: check(text) }));
  const refused = checked.filter((c) => !c.result.ok);
  if (refused.length > 0) {
    throw new InvalidInputError(refused.map((c) => ({ path: ['input', 'documents', String(c.i)], message: (c.result as { problem: string }).problem })));
  }
  const rows = checked.map((c) => ({
    ouId: caller.ouId,
    documentId: documentIdOf(c.text),
    source: 'INTEGRATION' as const,
    clientName: values.clientName,
    operationName: (c.result as { operationName: string | null }).operationName,
    document: c.text,
    createdBy: caller.userId,
  }));
  await scope.tx.insert(trustedDocuments).values(rows).onConflictDoNothing();
  scope.emit({ topic: 'trusted-documents:changed', args: [{ ouId: caller.ouId }] });
  const ids = [...new Set(rows.map((r) => r.documentId))];
  const stored = await scope.tx
    .select()
    .from(trustedDocuments)
    .where(
      and(eq(trustedDocuments.ouId, caller.ouId), sql`${trustedDocuments.documentId} in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))`),
    );
  const byId = new Map(stored.map((r) => [r.documentId, r]));
  return rows.map((r) => byId.get(r.documentId)!);
}

/** The unit's registered documents (not the dashboard's), by client and operation name. */
export async function listTrustedDocuments(db: Executor, caller: Caller, filter: { clientName?: string | null }): Promise<TrustedDocumentRow[]> {
  requirePermission(caller, 'OU_ADMIN');
  return db
    .select()
    .from(trustedDocuments)
    .where(and(eq(trustedDocuments.ouId, caller.ouId), filter.clientName ? eq(trustedDocuments.clientName, filter.clientName) : undefined))
    .orderBy(asc(trustedDocuments.clientName), asc(trustedDocuments.operationName), asc(trustedDocuments.documentId));
}

/** Removes one of the unit's documents: clients sending its id are refused from then on. */
export async function removeTrustedDocument(scope: TransactionScope, caller: Caller, documentId: string): Promise<TrustedDocumentRow> {
  requirePermission(caller, 'OU_ADMIN');
  const [row] = await scope.tx
    .delete(trustedDocuments)
    .where(and(eq(trustedDocuments.ouId, caller.ouId), eq(trustedDocuments.documentId, documentId)))
    .returning();
  if (!row) throw new NotFoundError('TrustedDocument', documentId);
  scope.emit({ topic: 'trusted-documents:changed', args: [{ ouId: caller.ouId }] });
  return row;
}

/**
 * Registers the dashboard's documents (the build's manifest), for every unit. Ids that do not match
 * their text are refused: the manifest is not trusted blindly. Older versions stay, so browsers still
 * holding a previous build keep working.
 */
export async function registerDashboardDocuments(db: Executor, manifest: Record<string, string>): Promise<number> {
  const rows = Object.entries(manifest).map(([documentId, text]) => {
    if (documentIdOf(text) !== documentId) throw new Error(`trusted documents manifest: ${documentId} is not the SHA-256 of its document`);
    return {
      ouId: null,
      documentId,
      source: 'DASHBOARD' as const,
      clientName: 'dashboard',
      operationName: /^\s*(?:query|mutation|subscription)\s+(\w+)/.exec(text)?.[1] ?? null,
      document: text,
      createdBy: null,
    };
  });
  if (rows.length === 0) return 0;
  const inserted = await db.insert(trustedDocuments).values(rows).onConflictDoNothing().returning({ id: trustedDocuments.id });
  return inserted.length;
}

/** The text of a document the caller's unit may run (its own, or the dashboard's); null if none. */
export async function findTrustedDocument(db: Executor, documentId: string, ouId: string | null): Promise<string | null> {
  const [row] = await db
    .select({ document: trustedDocuments.document })
    .from(trustedDocuments)
    .where(
      and(
        eq(trustedDocuments.documentId, documentId),
        ouId ? sql`(${trustedDocuments.ouId} is null or ${trustedDocuments.ouId} = ${ouId})` : isNull(trustedDocuments.ouId),
      ),
    )
    .limit(1);
  return row?.document ?? null;
}
