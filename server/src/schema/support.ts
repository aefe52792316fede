/** Small helpers the type modules share: the caller, global IDs, transactions. */
import { decodeGlobalID } from '@pothos/plugin-relay';
import { GraphQLError, Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import type { GraphQLContext } from '../context.js';
import { isUuid } from '../db/keys.js';
import type { Caller } from '../domain/caller.js';
import { NotAuthenticatedError, NotFoundError } from '../domain/errors.js';
import { findJob } from '../domain/jobs/queries.js';
import { inTransaction, type TransactionScope } from '../domain/transaction.js';

/** The signed-in caller; scope-auth has already refused anonymous requests on every field. */
export function callerOf(context: GraphQLContext): Caller {
  if (!context.caller) throw new NotAuthenticatedError();
  return context.caller;
}

/**
 * The database id inside a global ID of the given type. A malformed ID, or one of another type,
 * is reported like an unknown one: NotFoundError.
 */
export function decodeId(globalId: string, typename: string): string {
  try {
    const decoded = decodeGlobalID(globalId);
    if (decoded.typename === typename && isUuid(decoded.id)) return decoded.id;
  } catch {
    // fall through
  }
  throw new NotFoundError(typename, globalId);
}

/**
 * A mutation's transaction. An operator's cancel or edit can deadlock with a report batch or the
 * engine writing the same job's tasks (the job's change-order lock against a task row lock); the
 * database aborts one of them, and the mutation runs again rather than failing: domain functions
 * touch nothing outside the database but through `emit`.
 */
export function transact<T>(context: GraphQLContext, work: (scope: TransactionScope) => Promise<T>): Promise<T> {
  return inTransaction(context.services, work, { retryConflicts: true });
}

/** A GraphQL error for a lookup outside any typed result (subscriptions, connection args). */
export function notFound(typename: string, id: string): GraphQLError {
  return new GraphQLError(`${typename} ${JSON.stringify(id)} was not found`, { extensions: { code: 'NOT_FOUND' } });
}

/** A subscription's job: its database id once it is found in the caller's unit, else a NOT_FOUND error. */
export async function subscribedJobId(context: GraphQLContext, globalId: string): Promise<string> {
  const id = decodeIdOrNotFound(globalId);
  if (!(await findJob(context.services.db, callerOf(context), id))) throw notFound('OtaJob', globalId);
  return id;
}

/** decodeId for fields without typed results: a bad id is a NOT_FOUND GraphQL error. */
export function decodeIdOrNotFound(globalId: string | number, typename = 'OtaJob'): string {
  try {
    return decodeId(String(globalId), typename);
  } catch {
    throw notFound(typename, String(globalId));
  }
}

export const MAX_PAGE_SIZE = 500;

/** Pages hold at most MAX_PAGE_SIZE items; asking for more is an error rather than a silent cut. */
export function assertPageSize(args: { first?: number | null; last?: number | null }): void {
  for (const name of ['first', 'last'] as const) {
    const value = args[name];
    if (value !== null && value !== undefined && (value < 0 || value > MAX_PAGE_SIZE)) {
      throw new GraphQLError(`${name} must be between 0 and ${MAX_PAGE_SIZE}, got ${value}`, { extensions: { code: 'BAD_USER_INPUT' } });
    }
  }
}

/**
 * Whether the field being resolved selects `name` directly on its result (through fragments too),
 * so that a resolver can skip a read nobody asked for.
 */
export function selectsField(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>, name: string): boolean {
  const visit = (set: SelectionSetNode | undefined): boolean =>
    !!set?.selections.some((selection) => {
      if (selection.kind === Kind.FIELD) return selection.name.value === name;
      if (selection.kind === Kind.INLINE_FRAGMENT) return visit(selection.selectionSet);
      return visit(info.fragments[selection.name.value]?.selectionSet);
    });
  return info.fieldNodes.some((node) => visit(node.selectionSet));
}
