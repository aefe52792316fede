/**
 * The audit log: who changed what, when, from where. A row is written by the domain function that
 * makes the change, on its transaction, so the log holds exactly the changes that committed.
 * Reading it is for OU_ADMIN, scoped to the caller's unit (docs/security.md "Audit log").
 */
import { and, eq, gte, ilike, inArray, lt, or, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { type AuditAction, type AuditTargetType, auditEvents } from '../db/schema.js';
import { type Caller, requirePermission } from './caller.js';
import { InvalidInputError } from './errors.js';

export interface AuditEntry {
  action: AuditAction;
  target?: { type: AuditTargetType; id: string; name: string };
  /** One line in operator words. */
  summary: string;
  details?: Record<string, unknown>;
}

/** Writes one audit row for `caller` on `tx` (the transaction of the change it records). */
export async function recordAudit(tx: Executor, caller: Caller, entry: AuditEntry): Promise<void> {
  await recordAuditAs(tx, { ouId: caller.ouId, actorId: caller.userId, actorName: caller.displayName, origin: caller.origin }, entry);
}

export interface AuditActor {
  ouId: string;
  actorId: string | null;
  actorName: string;
  origin?: Caller['origin'] | { clientAddress: string; credentialKind?: undefined; credentialId?: undefined; credentialName?: undefined };
}

/** For changes with no Caller yet (a sign-in): the actor named directly. */
export async function recordAuditAs(tx: Executor, actor: AuditActor, entry: AuditEntry): Promise<void> {
  await tx.insert(auditEvents).values({
    ouId: actor.ouId,
    action: entry.action,
    actorId: actor.actorId,
    actorName: actor.actorName,
    targetType: entry.target?.type ?? null,
    targetId: entry.target?.id ?? null,
    targetName: entry.target?.name ?? null,
    summary: entry.summary,
    details: entry.details ?? null,
    clientAddress: actor.origin?.clientAddress ?? null,
    credentialKind: actor.origin?.credentialKind ?? null,
    credentialId: actor.origin?.credentialId ?? null,
    credentialName: actor.origin?.credentialName ?? null,
  });
}

/** "3 devices", "1 device". */
export function countOf(count: number, noun: string): string {
  return `${count.toLocaleString('en-US')} ${noun}${count === 1 ? '' : 's'}`;
}

/** Device keys an action touched: the first 100 and the count (a bulk action can touch 100,000). */
export function auditedKeys(keys: readonly string[], notActedOn: number): Record<string, unknown> {
  return { count: keys.length, deviceKeys: keys.slice(0, AUDITED_KEYS), more: Math.max(0, keys.length - AUDITED_KEYS), notActedOn };
}

const AUDITED_KEYS = 100;

export interface AuditFilter {
  actions?: readonly AuditAction[] | null;
  actorId?: string | null;
  targetType?: AuditTargetType | null;
  targetId?: string | null;
  /** Words in the summary, the actor's or the target's name, or the client address (any case). */
  search?: string | null;
  since?: Date | null;
  until?: Date | null;
}

/** The WHERE of an audit read: the caller's unit (OU_ADMIN only) and the filters; bad filters are InvalidInputError. */
export function auditCondition(caller: Caller, filter: AuditFilter): (table: typeof auditEvents) => SQL {
  requirePermission(caller, 'OU_ADMIN');
  if ((filter.search?.length ?? 0) > 200) throw InvalidInputError.single(['search'], 'must be at most 200 characters');
  if (filter.since && filter.until && filter.since > filter.until) throw InvalidInputError.single(['until'], 'must not be before the start of the range');
  return (table) => {
    const conditions: (SQL | undefined)[] = [eq(table.ouId, caller.ouId)];
    if (filter.actions?.length) conditions.push(inArray(table.action, [...filter.actions]));
    if (filter.actorId) conditions.push(eq(table.actorId, filter.actorId));
    if (filter.targetType) conditions.push(eq(table.targetType, filter.targetType));
    if (filter.targetId) conditions.push(eq(table.targetId, filter.targetId));
    if (filter.since) conditions.push(gte(table.at, filter.since));
    if (filter.until) conditions.push(lt(table.at, filter.until));
    const words = filter.search?.trim();
    if (words) {
      const pattern = `%${words.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      conditions.push(
        or(ilike(table.summary, pattern), ilike(table.actorName, pattern), ilike(table.targetName, pattern), ilike(table.clientAddress, pattern)),
      );
    }
    return and(...conditions)!;
  };
}

export async function countAuditEvents(db: Executor, caller: Caller, filter: AuditFilter): Promise<number> {
  const condition = auditCondition(caller, filter);
  const [row] = await db.select({ count: sql<number>`count(*)::int` }).from(auditEvents).where(condition(auditEvents));
  return row.count;
}
