/**
 * Limits on a GraphQL document, checked before any other work on it, on HTTP, SSE and WebSocket
 * alike (docs/api.md, "Limits"):
 *
 * 1. its length, before it is parsed (and before yoga's parse cache keeps it);
 * 2. its tokens, while it is parsed (graphql's `maxTokens`: parsing stops at the limit);
 * 3. its depth, breadth (fields, fragments expanded) and aliases, on the parsed document before
 *    graphql's validation rules run (some of them are quadratic in the fields of a selection).
 *
 * The cost of what it may return (lists multiplied by their page size) needs the variables and a
 * valid document, so it is checked after validation and before execution (cost.ts).
 */
import { type DocumentNode, type FragmentDefinitionNode, GraphQLError, Kind, parse, type SelectionSetNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { ServerConfig } from '../config.js';

export type DocumentLimits = Pick<ServerConfig, 'maxQueryLength' | 'maxQueryTokens' | 'maxQueryDepth' | 'maxQueryBreadth' | 'maxQueryAliases'>;

export const QUERY_TOO_LARGE = 'QUERY_TOO_LARGE';
export const QUERY_TOO_COMPLEX = 'QUERY_TOO_COMPLEX';

function tooLarge(message: string, limit: number): GraphQLError {
  return new GraphQLError(message, { extensions: { code: QUERY_TOO_LARGE, limit, http: { status: 400 } } });
}

/** A document longer than the limit, refused unread; null when it is within it. */
export function documentLengthError(query: unknown, limits: DocumentLimits): GraphQLError | null {
  if (typeof query !== 'string' || query.length <= limits.maxQueryLength) return null;
  return tooLarge(`The document is too long: ${query.length} characters exceed the limit of ${limits.maxQueryLength}`, limits.maxQueryLength);
}

/** graphql's parse, stopped after `maxQueryTokens` tokens. */
export function limitedParse(limits: DocumentLimits): typeof parse {
  return (source, options) => {
    try {
      return parse(source, { ...options, maxTokens: limits.maxQueryTokens });
    } catch (error) {
      if (error instanceof GraphQLError && /more th\w+ \d+ tokens/.test(error.message)) {
        throw tooLarge(`The document has more than ${limits.maxQueryTokens} tokens, the limit`, limits.maxQueryTokens);
      }
      throw error;
    }
  };
}

export interface DocumentShape {
  /** Deepest nesting of fields (a root field is depth 1). */
  depth: number;
  /** Fields selected, fragments expanded wherever they are spread. */
  breadth: number;
  /** Aliased fields, fragments expanded. */
  aliases: number;
}

/**
 * Depth, breadth and aliases of every operation of a document together, without the schema. Each
 * fragment is measured once, so a document that spreads fragments into each other is measured in
 * time linear in its length, though its breadth may be astronomical (it is refused for it).
 * A fragment cycle measures as nothing here; validation refuses it.
 */
export function measureDocument(document: DocumentNode): DocumentShape {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const measured = new Map<string, DocumentShape>();
  const active = new Set<string>();

  const selectionSet = (set: SelectionSetNode): DocumentShape => {
    const shape = { depth: 0, breadth: 0, aliases: 0 };
    for (const selection of set.selections) {
      let child: DocumentShape;
      if (selection.kind === Kind.FIELD) {
        const inner = selection.selectionSet ? selectionSet(selection.selectionSet) : { depth: 0, breadth: 0, aliases: 0 };
        child = { depth: inner.depth + 1, breadth: inner.breadth + 1, aliases: inner.aliases + (selection.alias ? 1 : 0) };
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        child = selectionSet(selection.selectionSet);
      } else {
        child = fragment(selection.name.value);
      }
      shape.depth = Math.max(shape.depth, child.depth);
      shape.breadth += child.breadth;
      shape.aliases += child.aliases;
    }
    return shape;
  };
  const fragment = (name: string): DocumentShape => {
    const known = measured.get(name);
    if (known) return known;
    const definition = fragments.get(name);
    if (!definition || active.has(name)) return { depth: 0, breadth: 0, aliases: 0 };
    active.add(name);
    const shape = selectionSet(definition.selectionSet);
    active.delete(name);
    measured.set(name, shape);
    return shape;
  };

  const total = { depth: 0, breadth: 0, aliases: 0 };
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    const shape = selectionSet(definition.selectionSet);
    total.depth = Math.max(total.depth, shape.depth);
    total.breadth += shape.breadth;
    total.aliases += shape.aliases;
  }
  return total;
}

function tooComplex(kind: string, actual: number, limit: number, message: string): GraphQLError {
  return new GraphQLError(`${message}: ${kind} ${actual} exceeds the limit of ${limit}`, {
    extensions: { code: QUERY_TOO_COMPLEX, [kind]: actual, limit, http: { status: 400 } },
  });
}

/** The structural limits a document breaks (none: []). */
export function documentShapeErrors(document: DocumentNode, limits: DocumentLimits): GraphQLError[] {
  const shape = measureDocument(document);
  if (shape.depth > limits.maxQueryDepth) return [tooComplex('depth', shape.depth, limits.maxQueryDepth, 'The query is too deep')];
  if (shape.aliases > limits.maxQueryAliases) return [tooComplex('aliases', shape.aliases, limits.maxQueryAliases, 'The query has too many aliases')];
  if (shape.breadth > limits.maxQueryBreadth) return [tooComplex('breadth', shape.breadth, limits.maxQueryBreadth, 'The query is too broad')];
  return [];
}

/**
 * The yoga/envelop plugin: length on the request's parameters (before the parse cache can keep a
 * huge string), tokens in parsing, shape before validation. The WebSocket path runs the same
 * hooks through yoga.getEnveloped and checks the length itself (app.ts).
 */
export function useDocumentLimits(limits: DocumentLimits): Plugin {
  const parseWithLimit = limitedParse(limits);
  const shapeErrors = new WeakMap<DocumentNode, GraphQLError[]>();
  return {
    onParams({ params, setResult }) {
      const error = documentLengthError(params.query, limits);
      if (error) setResult({ errors: [error] });
    },
    onParse({ setParseFn }) {
      setParseFn(parseWithLimit);
    },
    onValidate({ params, setResult }) {
      let errors = shapeErrors.get(params.documentAST);
      if (!errors) {
        errors = documentShapeErrors(params.documentAST, limits);
        shapeErrors.set(params.documentAST, errors);
      }
      // Refused: graphql's own rules do not run on it.
      if (errors.length > 0) setResult(errors);
    },
  };
}

/** Documents longer than this are parsed every time rather than kept (the dashboard's are under 6,000). */
const CACHED_DOCUMENT_MAX_LENGTH = 20_000;
const CACHED_DOCUMENTS = 1024;

/**
 * yoga's parse caches, bounded by what they hold as well as by how many: its default keeps the last
 * 1,024 documents whatever their size, and every parse error with its document, so that a client
 * sending distinct documents of 10,000 tokens each would have the server keep a gigabyte of syntax
 * trees. A least-recently-used map of the documents (and errors) up to 20,000 characters.
 */
export function boundedParseCache<T>(): { get(key: string): T | undefined; set(key: string, value: T): void } {
  const entries = new Map<string, T>();
  return {
    get(key) {
      const value = entries.get(key);
      if (value !== undefined) {
        entries.delete(key);
        entries.set(key, value);
      }
      return value;
    },
    set(key, value) {
      if (key.length > CACHED_DOCUMENT_MAX_LENGTH) return;
      entries.delete(key);
      entries.set(key, value);
      if (entries.size > CACHED_DOCUMENTS) entries.delete(entries.keys().next().value as string);
    },
  };
}
