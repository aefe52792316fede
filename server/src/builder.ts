/**
 * The Pothos schema builder and its plugins, nothing else. Scope-auth comes first so that no other
 * plugin's resolver wrapper runs before the permission check.
 */
import SchemaBuilder from '@pothos/core';
import DrizzlePlugin from '@pothos/plugin-drizzle';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin, { resolveNodes } from '@pothos/plugin-relay';
import ScopeAuthPlugin, { AuthScopeFailureType, type AuthFailure } from '@pothos/plugin-scope-auth';
import ValidationPlugin from '@pothos/plugin-validation';
import { getTableConfig } from 'drizzle-orm/pg-core';
import { GraphQLError, type GraphQLResolveInfo, isObjectType } from 'graphql';
import type { GraphQLContext } from './context.js';
import type { Database } from './db/client.js';
import { isTaskId, isUuid } from './db/keys.js';
import { relations } from './db/relations.js';
import type { Permission } from './db/schema.js';
import { notAuthenticated } from './auth/errors.js';
import { PermissionDeniedError } from './domain/errors.js';

export interface PothosTypes {
  Context: GraphQLContext;
  DrizzleRelations: typeof relations;
  AuthScopes: {
    /** The request carries valid credentials. */
    authenticated: boolean;
    /** The caller holds this permission in its organisation unit. */
    permission: Permission;
    /** The caller holds at least one of these permissions. */
    anyPermission: readonly Permission[];
    /** The caller is this user (people may read their own account and tokens). */
    isUser: string;
    /** The caller's user holds this role (people may read their own roles). */
    holdsRole: string;
  };
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    File: { Input: File; Output: never };
    ID: { Input: string; Output: string | number };
  };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
}

/** The first permission scope that failed, if the failure is about a missing permission. */
function missingPermission(failure: AuthFailure): Permission | null {
  if (failure.kind === AuthScopeFailureType.AuthScope && failure.scope === 'permission') {
    return failure.parameter as Permission;
  }
  if (failure.kind === AuthScopeFailureType.AuthScope && failure.scope === 'anyPermission') {
    return (failure.parameter as Permission[])[0];
  }
  if ('failures' in failure) {
    for (const child of failure.failures) {
      const found = missingPermission(child);
      if (found) return found;
    }
  }
  return null;
}

/** Node types whose database key is an integer rather than a UUID. */
const INTEGER_KEYED_TYPES = new Set(['JobDevice', 'WebhookDelivery']);

function isWellFormedId(id: { typename: string; id: string }): boolean {
  return INTEGER_KEYED_TYPES.has(id.typename) ? isTaskId(id.id) : isUuid(id.id);
}

/**
 * A global ID of a type that exists but is not a Node (an OrganisationUnit's, from `me`): node()
 * cannot load it. Said as an error on that field (or that item of nodes) alone; an ID naming no
 * type at all is malformed and resolves to null like an unknown one.
 */
function notLoadable(info: GraphQLResolveInfo, id: { typename: string }): GraphQLError | null {
  const type = info.schema.getType(id.typename);
  if (!type || (isObjectType(type) && type.getInterfaces().some((i) => i.name === 'Node'))) return null;
  return new GraphQLError(`${id.typename} IDs cannot be loaded with node or nodes: ${id.typename} is not a Node type`, {
    extensions: { code: 'BAD_USER_INPUT' },
  });
}

/** The drizzle plugin rejects a lookup of a row that does not exist; node() answers null for it. */
function nullWhenMissing(error: unknown): null {
  if (error instanceof Error && /not found/i.test(error.message)) return null;
  throw error;
}

/** One node by its parsed global ID; null when no such row exists. */
function loadNode(context: GraphQLContext, info: GraphQLResolveInfo, id: { typename: string; id: string }): Promise<unknown> {
  return resolveNodes(builder as never, context, info, [id]).then((nodes) => nodes[0], nullWhenMissing);
}

function sameOrganisationUnit<T>(context: GraphQLContext, node: T): T | null {
  if (!node || !context.caller) return null;
  return (node as { ouId?: string }).ouId === context.caller.ouId ? node : null;
}

export const builder = new SchemaBuilder<PothosTypes>({
  plugins: [ScopeAuthPlugin, RelayPlugin, ErrorsPlugin, ValidationPlugin, DrizzlePlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (context) => ({
      authenticated: context.caller !== null,
      permission: (permission) => context.caller?.permissions.has(permission) ?? false,
      anyPermission: (permissions) => permissions.some((p) => context.caller?.permissions.has(p) ?? false),
      isUser: (userId) => !!context.caller && context.caller.userId === userId,
      holdsRole: (roleId) => context.auth.identity?.roleIds.includes(roleId) ?? false,
    }),
    unauthorizedError: (_parent, context, _info, result) => {
      if (!context.caller) return notAuthenticated(context.auth.problem);
      const permission = missingPermission(result.failure);
      return permission ? new PermissionDeniedError(permission) : new GraphQLError(result.message, { extensions: { code: 'FORBIDDEN' } });
    },
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodesOnConnection: true,
    edgesFieldOptions: { nullable: false },
    nodeFieldOptions: { nullable: false },
    // node/nodes bypass the root fields' scoping, so they get it here: an ID that is malformed, or
    // names a row of another organisation unit, resolves to null exactly like an unknown one.
    nodeQueryOptions: {
      authScopes: { authenticated: true },
      resolve: async (_root, { id }, context, info, resolveNode) => {
        const refused = notLoadable(info, id);
        if (refused) throw refused;
        return isWellFormedId(id) ? sameOrganisationUnit(context, await Promise.resolve(resolveNode(id)).catch(nullWhenMissing)) : null;
      },
    },
    nodesQueryOptions: {
      authScopes: { authenticated: true },
      // The resolveNodes callback Pothos passes in loads all of `ids` whatever it is given, so each
      // ID is loaded through the plugin's own resolveNodes: one unknown ID must not fail the others.
      resolve: async (_root, { ids }, context, info) => {
        const wellFormed = ids.filter((id) => !notLoadable(info, id) && isWellFormedId(id));
        const loaded = await Promise.all(wellFormed.map((id) => loadNode(context, info, id)));
        const byId = new Map(wellFormed.map((id, i) => [id, loaded[i]]));
        // An Error in a list is graphql's way of failing that item alone (null, with the error at its path).
        return ids.map((id) => notLoadable(info, id) ?? sameOrganisationUnit(context, byId.get(id) ?? null)) as never;
      },
    },
  },
  errors: {
    defaultTypes: [],
  },
  validation: {
    validationError: (result) =>
      new GraphQLError(
        'Invalid arguments: ' +
          result.issues
            .map((issue) => {
              const path = issue.path?.map((p) => String(typeof p === 'object' ? p.key : p)).join('.');
              return path ? `${path}: ${issue.message}` : issue.message;
            })
            .join('; '),
        { extensions: { code: 'BAD_USER_INPUT' } },
      ),
  },
  drizzle: {
    client: (context) => context.services.db as Database,
    getTableConfig,
    relations,
    defaultConnectionSize: 20,
    maxConnectionSize: 500,
  },
});
