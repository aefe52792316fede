/** The audit log (OU_ADMIN): who changed what, when, from where; newest first, with filters. */
import { encodeGlobalID } from '@pothos/plugin-relay';
import { AUDIT_ACTION_LABELS } from '@updraft/labels';
import { builder } from '../builder.js';
import { AUDIT_ACTIONS, AUDIT_TARGET_TYPES, type AuditTargetType } from '../db/schema.js';
import { auditCondition, countAuditEvents, type AuditFilter } from '../domain/audit.js';
import { CredentialKind } from './api-token.js';
import { assertPageSize, callerOf, decodeId } from './support.js';

export const AuditAction = builder.enumType('AuditAction', {
  values: Object.fromEntries(AUDIT_ACTIONS.map((a) => [a, { value: a, description: AUDIT_ACTION_LABELS[a] }])) as Record<
    (typeof AUDIT_ACTIONS)[number],
    { value: (typeof AUDIT_ACTIONS)[number]; description: string }
  >,
});

/** The node type each target type's id belongs to (its global ID). */
const TARGET_TYPENAMES: Record<AuditTargetType, string> = {
  JOB: 'OtaJob',
  FIRMWARE: 'Firmware',
  PRODUCT: 'Product',
  DEVICE: 'Device',
  USER: 'User',
  ROLE: 'Role',
  API_TOKEN: 'ApiToken',
};

export const AuditTargetTypeRef = builder.enumType('AuditTargetType', { values: AUDIT_TARGET_TYPES });

builder.drizzleNode('auditEvents', {
  name: 'AuditEvent',
  id: { column: (e) => e.id },
  authScopes: { permission: 'OU_ADMIN' },
  description: 'One change: who made it, when, to what, and from where (client address and credential).',
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime' }),
    action: t.expose('action', { type: AuditAction }),
    actionText: t.string({
      description: 'The action in the console’s words.',
      select: { columns: { action: true } },
      resolve: (e) => AUDIT_ACTION_LABELS[e.action] ?? e.action,
    }),
    actorName: t.exposeString('actorName', { description: 'Who did it, as they were named then ("Updraft" for the system).' }),
    actor: t.relation('actor', { nullable: true, description: 'The user who did it; null for the system.' }),
    targetType: t.expose('targetType', { type: AuditTargetTypeRef, nullable: true }),
    targetId: t.id({
      nullable: true,
      description: 'The global ID of what was changed.',
      select: { columns: { targetType: true, targetId: true } },
      resolve: (e) => (e.targetType && e.targetId ? encodeGlobalID(TARGET_TYPENAMES[e.targetType], e.targetId) : null),
    }),
    targetName: t.exposeString('targetName', { nullable: true, description: 'Its name at the time.' }),
    summary: t.exposeString('summary'),
    details: t.string({
      nullable: true,
      description: 'The facts of the change as JSON (the edit’s fields from → to, device keys, permissions).',
      select: { columns: { details: true } },
      resolve: (e) => (e.details ? JSON.stringify(e.details) : null),
    }),
    clientAddress: t.exposeString('clientAddress', { nullable: true, description: 'The address the request came from; null for the system.' }),
    credentialKind: t.expose('credentialKind', { type: CredentialKind, nullable: true }),
    credentialName: t.exposeString('credentialName', { nullable: true, description: 'The API token’s name, or the dashboard session’s.' }),
  }),
});

builder.queryField('auditEvents', (t) =>
  t.drizzleConnection(
    {
      type: 'auditEvents',
      description: "The audit log of the caller's organisation unit, newest first (OU_ADMIN).",
      authScopes: { permission: 'OU_ADMIN' },
      args: {
        actions: t.arg({ type: [AuditAction], description: 'Only these actions.' }),
        actorId: t.arg.id({ description: 'Only what this user did.' }),
        targetType: t.arg({ type: AuditTargetTypeRef }),
        targetId: t.arg.id({ description: 'Only changes of this job, firmware, user, role or token (its global ID).' }),
        search: t.arg.string({ description: 'Words in the summary, the actor’s or target’s name, or the client address (any case).' }),
        since: t.arg({ type: 'DateTime', description: 'At or after this time.' }),
        until: t.arg({ type: 'DateTime', description: 'Before this time.' }),
      },
      totalCount: (_root, args, context) => countAuditEvents(context.services.db, callerOf(context), filterOf(args)),
      resolve: (query, _root, args, context) => {
        assertPageSize(args);
        const condition = auditCondition(callerOf(context), filterOf(args));
        return context.services.db.query.auditEvents.findMany(query({ where: { RAW: (table) => condition(table) }, orderBy: { at: 'desc', id: 'desc' } }));
      },
    },
    { name: 'AuditEventConnection' },
    { name: 'AuditEventEdge' },
  ),
);

interface AuditArgs {
  actions?: readonly (typeof AUDIT_ACTIONS)[number][] | null;
  actorId?: string | null;
  targetType?: AuditTargetType | null;
  targetId?: string | null;
  search?: string | null;
  since?: Date | null;
  until?: Date | null;
}

function filterOf(args: AuditArgs): AuditFilter {
  return {
    actions: args.actions,
    actorId: args.actorId ? decodeId(args.actorId, 'User') : null,
    targetType: args.targetType,
    targetId: args.targetId ? decodeTargetId(args.targetId) : null,
    search: args.search,
    since: args.since,
    until: args.until,
  };
}

/** A target's global ID of any audited type; a malformed one is NotFoundError like any bad ID. */
function decodeTargetId(globalId: string): string {
  for (const typename of Object.values(TARGET_TYPENAMES)) {
    try {
      return decodeId(globalId, typename);
    } catch {
      // another type
    }
  }
  return decodeId(globalId, 'OtaJob');
}
