/**
 * Reads a child field may start while its parent's row is still being looked up, so that a page
 * like the job details one costs the round trips of its reads side by side rather than one after
 * another (the hand-written equivalent reads the job and its pages at once too).
 *
 * A prefetch is only ever a guess at what the child resolver will ask for: it is keyed by the
 * child's field node and checked against the arguments and parent the resolver actually gets, and
 * it is used only once the parent has been found in the caller's unit, so nothing read for a
 * parent that is not the caller's ever reaches an answer.
 */
import type { FieldNode, GraphQLResolveInfo } from 'graphql';
import type { GraphQLContext } from '../context.js';

type Prefetcher = (context: GraphQLContext, parentId: string, info: GraphQLResolveInfo) => void;

const prefetchers = new Map<string, Prefetcher[]>();

/** Called by the module of a child field: how to start its reads for a parent of `typename`. */
export function registerPrefetcher(typename: string, prefetch: Prefetcher): void {
  prefetchers.set(typename, [...(prefetchers.get(typename) ?? []), prefetch]);
}

/** Called by a resolver about to look up a `typename` row: starts the registered children's reads. */
export function prefetchChildren(typename: string, context: GraphQLContext, parentId: string, info: GraphQLResolveInfo): void {
  for (const prefetch of prefetchers.get(typename) ?? []) prefetch(context, parentId, info);
}

interface Prefetched<T> {
  parentId: string;
  argsKey: string;
  result: Promise<T>;
}

const byContext = new WeakMap<object, Map<FieldNode, Prefetched<unknown>>>();

/** Keeps a started read for the resolver of `node` (its failure is reported there, if it is used). */
export function keepPrefetched<T>(context: object, node: FieldNode, parentId: string, args: unknown, result: Promise<T>): void {
  result.catch(() => {});
  let kept = byContext.get(context);
  if (!kept) byContext.set(context, (kept = new Map()));
  kept.set(node, { parentId, argsKey: argsKey(args), result });
}

/** The read started for this very field, parent and arguments, if there is one (taken once). */
export function takePrefetched<T>(context: object, info: Pick<GraphQLResolveInfo, 'fieldNodes'>, parentId: string, args: unknown): Promise<T> | undefined {
  const kept = byContext.get(context);
  if (!kept || info.fieldNodes.length !== 1) return undefined;
  const entry = kept.get(info.fieldNodes[0]);
  if (!entry) return undefined;
  kept.delete(info.fieldNodes[0]);
  return entry.parentId === parentId && entry.argsKey === argsKey(args) ? (entry.result as Promise<T>) : undefined;
}

/**
 * Arguments as JSON (dates as ISO text, undefined left out). Both the prefetch and the executor
 * coerce arguments in the order the field defines them, so equal arguments give equal text; were
 * they ever to differ, the prefetch would only go unused.
 */
function argsKey(args: unknown): string {
  return JSON.stringify(args);
}
