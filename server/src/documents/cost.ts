/**
 * The cost of an operation: how many values its answer can hold at most (docs/api.md, "Query
 * cost"). Every field selected costs 1 plus what it selects, for each time it can occur in the answer:
 *
 * - the `nodes` and `edges` of a connection occur once per item of its page, `first` or `last`
 *   (up to the 500 a page may hold) or, when neither is given, 50 (the largest default page);
 * - `nodes(ids:)` occurs once per ID; any other list once per item, counted as 10;
 * - nested lists multiply: `jobs(first: 100) { nodes { devices(first: 100) { nodes { id } } } }`
 *   costs 1 + 100 × (1 + 1 + 100 × (1 + 1)) = 20,201.
 *
 * Checked after validation (the document is known to fit the schema) and before execution, with
 * the operation's variables, on HTTP, SSE and WebSocket (envelop's onExecute and onSubscribe).
 */
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  getNullableType,
  getOperationAST,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { QUERY_TOO_COMPLEX } from './limits.js';

/** The largest page a connection may return (docs/api.md, Conventions). */
const MAX_PAGE = 500;
/** A connection asked for no page size: its default, counted as the largest default of any (50). */
export const DEFAULT_PAGE_COST = 50;
/** A plain list (no page size): products, tags, a job's edits, … */
export const LIST_COST = 10;

function argumentNumber(node: ValueNode | undefined, variables: Record<string, unknown>): number | null {
  if (!node) return null;
  if (node.kind === Kind.INT) return Number(node.value);
  if (node.kind === Kind.VARIABLE) {
    const value = variables[node.name.value];
    return typeof value === 'number' ? value : null;
  }
  return null;
}

function argumentLength(node: ValueNode | undefined, variables: Record<string, unknown>): number | null {
  if (!node) return null;
  if (node.kind === Kind.LIST) return node.values.length;
  if (node.kind === Kind.VARIABLE) {
    const value = variables[node.name.value];
    return Array.isArray(value) ? value.length : value == null ? null : 1;
  }
  return 1;
}

function isConnection(type: GraphQLNamedType): boolean {
  return isObjectType(type) && type.name.endsWith('Connection') && ('nodes' in type.getFields() || 'edges' in type.getFields());
}

/** The cost of the operation `operationName` of a valid document, with these variables. */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): number {
  const operation = getOperationAST(document, operationName);
  if (!operation) return 0;
  const values = variables ?? {};
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  // A fragment's cost depends only on its own selections and, spread inside a connection, on the
  // page size of that connection.
  const memo = new Map<string, number>();
  const active = new Set<string>();

  const selectionSet = (set: SelectionSetNode, type: GraphQLNamedType, page: number): number => {
    let cost = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value.startsWith('__') || !(isObjectType(type) || isInterfaceType(type))) {
          cost += 1;
          continue;
        }
        const field = type.getFields()[selection.name.value];
        if (!field) continue;
        const fieldType = getNamedType(field.type);
        let multiplier = 1;
        if (isConnection(type) && (selection.name.value === 'nodes' || selection.name.value === 'edges')) multiplier = page;
        else if (selection.name.value === 'nodes' && field.args.some((a) => a.name === 'ids')) {
          multiplier = argumentLength(selection.arguments?.find((a) => a.name.value === 'ids')?.value, values) ?? 1;
        } else if (isListType(getNullableType(field.type))) multiplier = LIST_COST;
        let childPage = page;
        if (isConnection(fieldType)) {
          const arg = (name: string) => argumentNumber(selection.arguments?.find((a) => a.name.value === name)?.value, values);
          childPage = Math.min(MAX_PAGE, Math.max(0, arg('first') ?? arg('last') ?? DEFAULT_PAGE_COST));
        }
        const inner = selection.selectionSet ? selectionSet(selection.selectionSet, fieldType, childPage) : 0;
        cost += multiplier * (1 + inner);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type;
        cost += selectionSet(selection.selectionSet, condition ?? type, page);
      } else {
        const name = selection.name.value;
        const key = `${name}\u0000${page}`;
        const known = memo.get(key);
        if (known !== undefined) {
          cost += known;
          continue;
        }
        const fragment = fragments.get(name);
        if (!fragment || active.has(name)) continue;
        active.add(name);
        const fragmentCost = selectionSet(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value) ?? type, page);
        active.delete(name);
        memo.set(key, fragmentCost);
        cost += fragmentCost;
      }
    }
    return cost;
  };

  const root = schema.getRootType(operation.operation);
  return root ? selectionSet(operation.selectionSet, root, DEFAULT_PAGE_COST) : 0;
}

export function costError(cost: number, limit: number): GraphQLError {
  return new GraphQLError(
    `The query is too expensive: it could return ${cost} values, more than the limit of ${limit}. Ask for smaller pages (first) or fewer nested lists.`,
    { extensions: { code: QUERY_TOO_COMPLEX, cost, limit } },
  );
}

/** Refuses an operation whose cost is over `limit` before it runs. */
export function useQueryCost(limit: number): Plugin {
  const check = ({
    args,
    setResultAndStopExecution,
  }: {
    args: { schema: GraphQLSchema; document: DocumentNode; operationName?: string | null; variableValues?: unknown };
    setResultAndStopExecution(result: { errors: GraphQLError[] }): void;
  }) => {
    const cost = operationCost(args.schema, args.document, args.operationName, args.variableValues as Record<string, unknown> | undefined);
    if (cost > limit) setResultAndStopExecution({ errors: [costError(cost, limit)] });
  };
  return { onExecute: check, onSubscribe: check };
}
