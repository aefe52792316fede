/**
 * Text PostgreSQL cannot store: the NUL character (U+0000). Any string argument carrying one, in
 * the document or in a variable, whatever the field, is refused before execution with a
 * BAD_USER_INPUT error naming the field and the argument, so that no resolver, domain function or
 * query ever sees it (PostgreSQL would answer "invalid byte sequence" as a server fault).
 * One check for every field, present and future, on HTTP, SSE and WebSocket (through yoga's hooks).
 */
import {
  type ArgumentNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  getOperationAST,
  Kind,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

const NUL = '\u0000';

/** Where in a value a NUL sits: [] for the value itself, else the keys and indices down to it. */
function nulIn(value: unknown, path: (string | number)[] = []): (string | number)[] | null {
  if (typeof value === 'string') return value.includes(NUL) ? path : null;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = nulIn(item, [...path, i]);
      if (found) return found;
    }
    return null;
  }
  if (value && typeof value === 'object' && !(value instanceof Blob)) {
    for (const [key, item] of Object.entries(value)) {
      const found = nulIn(item, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}

function nulInLiteral(node: ValueNode, variables: Record<string, unknown>, path: (string | number)[] = []): (string | number)[] | null {
  switch (node.kind) {
    case Kind.STRING:
      return node.value.includes(NUL) ? path : null;
    case Kind.VARIABLE:
      return nulIn(variables[node.name.value], path);
    case Kind.LIST:
      for (const [i, item] of node.values.entries()) {
        const found = nulInLiteral(item, variables, [...path, i]);
        if (found) return found;
      }
      return null;
    case Kind.OBJECT:
      for (const field of node.fields) {
        const found = nulInLiteral(field.value, variables, [...path, field.name.value]);
        if (found) return found;
      }
      return null;
    default:
      return null;
  }
}

/** The first argument of the operation (fragments included) whose text holds a NUL; null: none. */
export function findNulArgument(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): { field: string; argument: string } | null {
  const operation = getOperationAST(document, operationName);
  if (!operation) return null;
  const values = variables ?? {};
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const visited = new Set<string>();
  const inArguments = (args: readonly ArgumentNode[] | undefined): string | null => {
    for (const arg of args ?? []) {
      const path = nulInLiteral(arg.value, values);
      if (path) return [arg.name.value, ...path].join('.');
    }
    return null;
  };
  const walk = (set: SelectionSetNode, parents: string[]): { field: string; argument: string } | null => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const names = [...parents, selection.name.value];
        const argument = inArguments(selection.arguments);
        if (argument) return { field: names.join('.'), argument };
        const found = selection.selectionSet && walk(selection.selectionSet, names);
        if (found) return found;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const found = walk(selection.selectionSet, parents);
        if (found) return found;
      } else if (!visited.has(selection.name.value)) {
        visited.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        const found = fragment && walk(fragment.selectionSet, parents);
        if (found) return found;
      }
    }
    return null;
  };
  return walk(operation.selectionSet, []);
}

export function nulArgumentError(found: { field: string; argument: string }): GraphQLError {
  return new GraphQLError(`Invalid arguments: ${found.field}(${found.argument}:) must not contain the NUL character (U+0000)`, {
    extensions: { code: 'BAD_USER_INPUT', field: found.field, argument: found.argument },
  });
}

/** Refuses an operation with a NUL in any string argument before it runs (subscriptions too). */
export function useTextArguments(): Plugin {
  const check = ({
    args,
    setResultAndStopExecution,
  }: {
    args: { document: DocumentNode; operationName?: string | null; variableValues?: unknown };
    setResultAndStopExecution(result: { errors: GraphQLError[] }): void;
  }) => {
    const found = findNulArgument(args.document, args.operationName, args.variableValues as Record<string, unknown> | undefined);
    if (found) setResultAndStopExecution({ errors: [nulArgumentError(found)] });
  };
  return { onExecute: check, onSubscribe: check };
}
