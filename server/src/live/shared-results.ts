/**
 * One execution and one serialization per live event, however many subscribers receive it.
 *
 * The live hubs already read the database once per job and interval, and hand every subscriber the
 * same event object (the job's snapshot, the ring's batch of changes). GraphQL would still run the
 * subscriber's selection over that event once per subscriber, and graphql-ws would still turn each
 * result into JSON once per subscriber: with a thousand people watching a job, that was nearly all
 * of the server's work (docs/benchmarks.md, fan-out). Subscribers that would get the same answer
 * — the same event, the same document and variables, the same unit and permissions — now share it:
 *
 * - `useSharedSubscriptionExecution` (a yoga plugin) runs the live job subscriptions through
 *   graphql-js's own subscription steps with a per-event executor that memoises the result by
 *   event object and that key. Only job-level fields are shared, whose answers depend on the
 *   caller's unit and permissions and on nothing else of the caller.
 * - `sharedSerialization` (graphql-ws options + a hook on each socket) serialises each result's
 *   payload once, and sends those same bytes inside every subscriber's own message envelope.
 */
import {
  createSourceEventStream,
  executeSubscriptionEvent,
  type ExecutionArgs,
  type ExecutionResult,
  mapSourceToResponseEvent,
  type OperationDefinitionNode,
  validateSubscriptionArgs,
} from 'graphql';
import type { ServerOptions } from 'graphql-ws';
import type { Plugin } from 'graphql-yoga';
import type WebSocket from 'ws';
import type { GraphQLContext } from '../context.js';

/** Subscription fields whose events are shared objects and whose answers depend on unit and permissions only. */
const SHAREABLE_FIELDS = new Set(['jobProgress', 'jobDeviceUpdates']);

type PerEventArgs = Parameters<typeof executeSubscriptionEvent>[0];

const operationIds = new WeakMap<OperationDefinitionNode, number>();
let nextOperationId = 1;
/** The key of one subscription's answers, computed once per subscription (its validated arguments). */
const keysOfSubscriptions = new WeakMap<object, string | null>();
/** Event → key → its one execution. Entries go when the event object does. */
const resultsOfEvents = new WeakMap<object, Map<string, ReturnType<typeof executeSubscriptionEvent>>>();

function shareKey(args: PerEventArgs): string | null {
  const variables = args.variableValues as object;
  let key = keysOfSubscriptions.get(variables);
  if (key !== undefined) return key;
  const caller = (args.contextValue as GraphQLContext | undefined)?.caller;
  let operationId = operationIds.get(args.operation);
  if (operationId === undefined) operationIds.set(args.operation, (operationId = nextOperationId++));
  key = caller
    ? [operationId, caller.ouId, [...caller.permissions].sort().join(','), JSON.stringify((variables as { coerced?: unknown }).coerced ?? variables)].join('|')
    : null;
  keysOfSubscriptions.set(variables, key);
  return key;
}

/** executeSubscriptionEvent, once per event and key. */
function executeShared(args: PerEventArgs): ReturnType<typeof executeSubscriptionEvent> {
  const event = args.rootValue;
  const key = typeof event === 'object' && event !== null ? shareKey(args) : null;
  if (key === null) return executeSubscriptionEvent(args);
  let results = resultsOfEvents.get(event as object);
  if (!results) resultsOfEvents.set(event as object, (results = new Map()));
  let result = results.get(key);
  if (!result) {
    result = executeSubscriptionEvent(args);
    results.set(key, result);
  }
  return result;
}

/** graphql-js's subscribe, with the per-event executor above. */
function subscribeShared(args: ExecutionArgs) {
  const validated = validateSubscriptionArgs(args);
  if (!('schema' in validated)) return { errors: validated };
  const stream = createSourceEventStream(validated);
  const map = (resolved: Awaited<typeof stream>) =>
    Symbol.asyncIterator in resolved ? mapSourceToResponseEvent(validated, resolved, executeShared) : resolved;
  return stream instanceof Promise ? stream.then(map) : map(stream as Awaited<typeof stream>);
}

function rootFieldOf(args: ExecutionArgs): string | null {
  const operations = args.document.definitions.filter((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
  const operation = args.operationName ? operations.find((o) => o.name?.value === args.operationName) : operations.length === 1 ? operations[0] : undefined;
  if (!operation || operation.operation !== 'subscription') return null;
  const fields = operation.selectionSet.selections;
  return fields.length === 1 && fields[0].kind === 'Field' ? fields[0].name.value : null;
}

export function useSharedSubscriptionExecution(): Plugin {
  return {
    onSubscribe({ args, setSubscribeFn }) {
      const field = rootFieldOf(args);
      if (field && SHAREABLE_FIELDS.has(field)) setSubscribeFn(subscribeShared as never);
    },
  };
}

// ── Serialization ───────────────────────────────────────────────────────────────────────────────

/** A next message's payload, already JSON and UTF-8 (one per result object, whoever receives it). */
class SerializedPayload {
  readonly bytes: Buffer;
  constructor(json: string) {
    this.bytes = Buffer.from(json);
  }
}

const payloadsOfResults = new WeakMap<object, SerializedPayload>();
const PLACEHOLDER = '\u0000updraft-shared-payload\u0000';
/** How the placeholder ends a message once stringified (graphql-ws puts `payload` last). */
const PLACEHOLDER_TAIL = `"payload":${JSON.stringify(PLACEHOLDER)}}`;
/**
 * The payload the last stringified message stands for. graphql-ws stringifies a message and hands
 * it to the socket in one synchronous step, so the socket hook below always reads the right one.
 */
let pendingPayload: Buffer | null = null;

/** graphql-ws options: results go out as their shared JSON, spliced in by `spliceSharedPayloads`. */
export const sharedSerialization: Pick<ServerOptions, 'onNext' | 'jsonMessageReplacer'> = {
  onNext: (_ctx, _id, _payload, _args, result) => {
    if (typeof result !== 'object' || result === null) return undefined;
    let serialized = payloadsOfResults.get(result);
    if (!serialized) {
      // The payload graphql-ws would have sent itself.
      const { errors, ...rest } = result as ExecutionResult;
      serialized = new SerializedPayload(JSON.stringify({ ...rest, ...(errors ? { errors: errors.map((e) => e.toJSON()) } : {}) }));
      payloadsOfResults.set(result, serialized);
    }
    return serialized as never;
  },
  jsonMessageReplacer(key, value) {
    if (key === 'payload' && value instanceof SerializedPayload) {
      pendingPayload = value.bytes;
      return PLACEHOLDER;
    }
    return value;
  },
};

type Send = (data: unknown, options?: { fin?: boolean; binary?: boolean } | ((error?: Error) => void), callback?: (error?: Error) => void) => void;

const CLOSE_BRACE = Buffer.from('}');

/**
 * Makes `socket` send the shared payload where a message carries the placeholder: the subscriber's
 * own envelope and the payload's bytes (encoded once for everyone) joined by a plain copy — one
 * frame and one write, as a message sent whole. Call on each new connection.
 */
export function spliceSharedPayloads(socket: WebSocket): void {
  const send = socket.send.bind(socket) as Send;
  (socket as unknown as { send: Send }).send = (data, options, callback) => {
    if (pendingPayload !== null && typeof data === 'string' && data.endsWith(PLACEHOLDER_TAIL)) {
      const payload = pendingPayload;
      pendingPayload = null;
      const envelope = Buffer.from(data.slice(0, data.length - PLACEHOLDER_TAIL.length) + '"payload":');
      const done = typeof options === 'function' ? options : callback;
      send(Buffer.concat([envelope, payload, CLOSE_BRACE], envelope.length + payload.length + 1), { binary: false }, done);
      return;
    }
    send(data, options as never, callback);
  };
}
