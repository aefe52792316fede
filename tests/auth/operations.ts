/**
 * Builds a runnable operation for any root field of the schema: variables for its arguments (from
 * their types, with realistic values by argument name) and a selection of its result's fields, so
 * that the permission matrix covers every field, present and future, without naming them.
 */
import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
  type GraphQLSchema,
  getNamedType,
  isAbstractType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
} from 'graphql';

export type RootKind = 'query' | 'mutation' | 'subscription';

/** Stands for a file in the variables; sent as a GraphQL multipart request. */
export const FILE = Symbol('file');

export interface ArgumentHints {
  /** Every ID argument and ID input field gets this. */
  id: string;
  /** String arguments by lower-cased name (productkey, devicekey, username…). */
  strings: Record<string, string>;
  /** Fill optional arguments and input fields too (probing filters), not only the required ones. */
  optional: boolean;
}

const isRequired = (arg: { type: GraphQLInputType; defaultValue?: unknown }) => isNonNullType(arg.type) && arg.defaultValue === undefined;

/** Pagination cursors and the like that only make sense when taken from an earlier answer. */
const NEVER_FILLED = new Set(['after', 'before', 'last']);

function valueFor(type: GraphQLInputType, name: string, hints: ArgumentHints, depth: number): unknown {
  if (isNonNullType(type)) return valueFor(type.ofType, name, hints, depth);
  if (isListType(type)) return [valueFor(type.ofType, name.replace(/s$/, ''), hints, depth)];
  if (isEnumType(type)) return type.getValues()[0].value;
  if (isInputObjectType(type)) {
    const value: Record<string, unknown> = {};
    for (const field of Object.values(type.getFields())) {
      const wanted = isRequired(field) || (hints.optional && depth < 3 && !NEVER_FILLED.has(field.name));
      if (wanted) value[field.name] = valueFor(field.type, field.name, hints, depth + 1);
    }
    return value;
  }
  if (isScalarType(type)) {
    switch (type.name) {
      case 'ID':
        return hints.id;
      case 'Int':
      case 'Float':
        return name === 'first' ? 5 : 1;
      case 'Boolean':
        return false;
      case 'DateTime':
        return new Date(Date.now() + 86_400_000).toISOString();
      case 'File':
        return FILE;
      default:
        return hints.strings[name.toLowerCase()] ?? `matrix-${name}`;
    }
  }
  throw new Error(`no value for ${String(type)}`);
}

/**
 * The fields of an output type worth selecting, `depth` object levels deep: every field without
 * required arguments, every member of a union or interface. Inside a member's fragment the fields
 * get the member's name as alias prefix, so that members whose fields share a name but not a type
 * (OtaJob.status, JobDevice.status) can be selected together.
 */
export function selectionFor(schema: GraphQLSchema, type: GraphQLOutputType, depth: number, aliasPrefix = ''): string {
  const named = getNamedType(type);
  if (isLeafType(named)) return '';
  if (isObjectType(named)) {
    const parts = ['__typename'];
    for (const field of Object.values(named.getFields())) {
      if (field.args.some(isRequired)) continue;
      const name = aliasPrefix ? `${aliasPrefix}${field.name}: ${field.name}` : field.name;
      if (isLeafType(getNamedType(field.type))) parts.push(name);
      else if (depth > 0) parts.push(`${name} { ${selectionFor(schema, field.type, depth - 1)} }`);
    }
    return parts.join(' ');
  }
  const members = schema.getPossibleTypes(named as never);
  return ['__typename', ...members.map((member) => `... on ${member.name} { ${selectionFor(schema, member, depth, `${member.name}_`)} }`)].join(' ');
}

export interface Operation {
  query: string;
  variables: Record<string, unknown>;
}

export function operationFor(
  schema: GraphQLSchema,
  kind: RootKind,
  field: GraphQLField<unknown, unknown>,
  hints: ArgumentHints,
  // node/nodes select every Node type's fields: two levels of them are over the breadth limit.
  depth = isAbstractType(getNamedType(field.type)) ? 1 : 2,
): Operation {
  const args = field.args.filter((arg: GraphQLArgument) => isRequired(arg) || (hints.optional && !NEVER_FILLED.has(arg.name)));
  const variables = Object.fromEntries(args.map((arg) => [arg.name, valueFor(arg.type, arg.name, hints, 0)]));
  const declarations = args.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ');
  const call = args.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  const selection = selectionFor(schema, field.type, depth);
  const query = `${kind} Matrix${declarations ? `(${declarations})` : ''} { ${field.name}${call ? `(${call})` : ''}${selection ? ` { ${selection} }` : ''} }`;
  return { query, variables };
}

/** The variables' paths that hold a file, for the multipart request's map. */
export function filePaths(value: unknown, path = 'variables'): string[] {
  if (value === FILE) return [path];
  if (Array.isArray(value)) return value.flatMap((item, i) => filePaths(item, `${path}.${i}`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => filePaths(item, `${path}.${key}`));
  return [];
}

/** Sends an operation over HTTP, as multipart when it carries a file; `headers` as given (no defaults). */
export async function sendOperation(url: string, operation: Operation, headers: Record<string, string>): Promise<any> {
  const files = filePaths(operation.variables);
  if (files.length === 0) {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...headers },
      body: JSON.stringify(operation),
    });
    return response.json();
  }
  const variables = JSON.parse(JSON.stringify(operation.variables, (_key, value) => (value === FILE ? null : value)));
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: operation.query, variables }));
  form.append('map', JSON.stringify(Object.fromEntries(files.map((path, i) => [String(i), [path]]))));
  files.forEach((_, i) => {
    form.append(String(i), new Blob([new Uint8Array(64)]), `matrix-${i}.bin`);
  });
  const response = await fetch(url, { method: 'POST', body: form, headers: { 'x-graphql-yoga-csrf': '1', ...headers } });
  return response.json();
}
