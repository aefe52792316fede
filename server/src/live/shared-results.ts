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
 * - A graphql-ws subscriber's error-free shared results are written straight to its socket while
 *   its pull waits (`attachDirectSink`, live/direct-delivery.ts): the same bytes, without the
 *   promise layers between the live source and graphql-ws.
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
import { subscriptionEndsWithConnection } from '../auth/subscription-lifetime.js';
import type { Caller } from '../domain/caller.js';
import { ATTACH_DIRECT_SINK, type DirectSource, isDirectSource } from './direct-delivery.js';

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
  const caller = (args.contextValue as { caller?: Caller | null } | undefined)?.caller;
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
    const executed = (result = executeSubscriptionEvent(args));
    results.set(key, executed);
    if (executed instanceof Promise) {
      // Settled, the entry holds the result itself (direct delivery reads it synchronously).
      executed.then(
        (value) => {
          if (results.get(key) === executed) results.set(key, value);
        },
        () => failedResults.add(executed),
      );
    }
  }
  return result;
}

/** Shared executions that rejected (their subscribers get the rejection through their pull). */
const failedResults = new WeakSet<Promise<unknown>>();

/** The result already executed for this event and subscription's key, if any. */
function sharedResultOf(validated: PerEventArgs, event: unknown): ReturnType<typeof executeSubscriptionEvent> | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const results = resultsOfEvents.get(event);
  if (!results) return undefined;
  const key = shareKey(validated);
  return key === null ? undefined : results.get(key);
}

type Validated = Exclude<ReturnType<typeof validateSubscriptionArgs>, readonly unknown[]>;

/** An event's result for this subscription: the shared one when there is one, without the per-event arguments graphql-js would build. */
function resultOfEvent(validated: Validated, event: unknown): ReturnType<typeof executeSubscriptionEvent> {
  return sharedResultOf(validated as PerEventArgs, event) ?? executeShared({ ...validated, rootValue: event } as PerEventArgs);
}
type Result = Awaited<ReturnType<typeof executeSubscriptionEvent>>;

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * graphql-js's mapSourceToResponseEvent for the shared subscriptions, without its async generator
 * and the wrapper around it (a few promises per event and subscriber): each event the source yields
 * becomes its shared result, looked up before building the per-event arguments. Same behaviour:
 * a failing source rejects the pull, return()/throw() end the source, and nothing is pulled after
 * the end.
 */
function mapToSharedResults(validated: Validated, source: AsyncIterator<unknown>): AsyncIterableIterator<Result> {
  let finished = false;
  if (isDirectSource(source)) attachDirectSink(validated, source, () => finished);
  const finish = async () => {
    if (finished) return;
    finished = true;
    try {
      await source.return?.();
    } catch {
      // graphql-js ignores a source that fails to end as well.
    }
  };
  const map = (step: IteratorResult<unknown>): IteratorResult<Result> | Promise<IteratorResult<Result>> => {
    if (step.done) {
      finished = true;
      return DONE;
    }
    let result: ReturnType<typeof executeSubscriptionEvent>;
    try {
      result = resultOfEvent(validated, step.value);
    } catch (error) {
      return finish().then(() => Promise.reject(error));
    }
    if (!(result instanceof Promise)) return { done: false, value: result };
    return result.then(
      (value) => ({ done: false, value }),
      (error: unknown) => finish().then(() => Promise.reject(error)),
    );
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next() {
      if (finished) return Promise.resolve(DONE);
      return source.next().then(map);
    },
    async return() {
      await finish();
      return DONE;
    },
    async throw(error: unknown) {
      await finish();
      throw error;
    },
  };
}

/** What of the context direct delivery needs: a graphql-ws subscription's socket and id (app.ts). */
interface LiveTransport {
  socket?: unknown;
  subscriptionId?: unknown;
}

/**
 * Sends a subscriber's shared results straight to its graphql-ws socket while its pull waits
 * (live/direct-delivery.ts): the very bytes graphql-ws would send for them, without the layers
 * between. Only where skipping those layers changes nothing:
 *
 * - the subscription came over graphql-ws (its socket and id in the context) and its credential's
 *   end closes that connection (subscription-lifetime.ts: no per-event race was installed);
 * - the result has no errors (yoga's masked-errors map, the only other per-event step, changes
 *   only errors) and executed without throwing; any other result goes up the pull as before;
 * - ws would send the message as one uncompressed frame now (its Sender idle, see idleSender);
 * - the subscriber's previous direct message has left (its write callback fired): one message in
 *   flight per subscription, as graphql-ws keeps it; until then the source holds its newest state
 *   (jobProgress: the newest snapshot; jobDeviceUpdates: the cursor, so the next offer is the
 *   ring's view since then, or a read from the database through the pull when behind the ring).
 *
 * Writes are corked until the turn ends, as graphql-ws's sends are (holdUntilTurnEnds).
 */
function attachDirectSink(validated: Validated, source: DirectSource<unknown>, finished: () => boolean): void {
  const context = validated.contextValue as LiveTransport & Parameters<typeof subscriptionEndsWithConnection>[0];
  const { socket, subscriptionId } = context;
  if (typeof subscriptionId !== 'string' || !isWebSocket(socket) || !subscriptionEndsWithConnection(context)) return;
  // graphql-ws's own message, `{"id":…,"type":"next","payload":…}`, up to its payload.
  const envelope = `{"id":${JSON.stringify(subscriptionId)},"type":"next","payload":`;
  let inFlight = false;
  const written = () => {
    inFlight = false;
    resume();
  };
  const resume = source[ATTACH_DIRECT_SINK]({
    offer(value) {
      if (inFlight) return 'busy';
      if (finished() || socket.readyState !== 1) return 'declined';
      let result: ReturnType<typeof executeSubscriptionEvent>;
      try {
        result = resultOfEvent(validated, value);
      } catch {
        return 'declined';
      }
      if (result instanceof Promise) {
        if (failedResults.has(result)) return 'declined';
        // Being executed (once for all its subscribers): offered again once it has settled.
        inFlight = true;
        result.then(written, written);
        return 'busy';
      }
      if (result.errors !== undefined) return 'declined';
      const sender = idleSender(socket);
      if (!sender) return 'declined';
      const payload = serializedPayloadOf(result);
      const frame = payload.sharedFrame(envelope);
      holdUntilTurnEnds(socket);
      inFlight = true;
      sender.sendFrame!(frame ? [frame] : [frameHead(envelope, payload.bytesAndClose.length), payload.bytesAndClose], written);
      return 'sent';
    },
  });
}

function isWebSocket(socket: unknown): socket is WebSocket {
  return typeof socket === 'object' && socket !== null && typeof (socket as WebSocket).send === 'function' && '_sender' in socket;
}

/** graphql-js's subscribe, with the per-event executor above. */
function subscribeShared(args: ExecutionArgs) {
  const validated = validateSubscriptionArgs(args);
  if (!('schema' in validated)) return { errors: validated };
  const stream = createSourceEventStream(validated);
  const map = (resolved: Awaited<typeof stream>) => {
    if (!(Symbol.asyncIterator in resolved)) return resolved;
    // An external abort signal (none on graphql-ws) is graphql-js's own business.
    if (validated.externalAbortSignal) return mapSourceToResponseEvent(validated, resolved, executeShared);
    return mapToSharedResults(validated, resolved[Symbol.asyncIterator]());
  };
  return stream instanceof Promise ? stream.then(map) : map(stream as Awaited<typeof stream>);
}

function rootFieldOf(args: ExecutionArgs): string | null {
  const operations = args.document.definitions.filter((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
  const operation = args.operationName ? operations.find((o) => o.name?.value === args.operationName) : operations.length === 1 ? operations[0] : undefined;
  if (operation?.operation !== 'subscription') return null;
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

/** A `next` message's payload, already JSON and UTF-8 (one per result object, whoever receives it). */
class SerializedPayload {
  /** The payload's bytes followed by the `}` that closes the message around it. */
  readonly bytesAndClose: Buffer;
  /**
   * Whole WebSocket frames of the messages carrying this payload, by envelope (`{"id":…,"type":"next",`):
   * subscribers whose envelopes are equal — the dashboard's client uses the same ids on every
   * connection — receive the very same bytes, framed once. Only a few envelopes are kept; clients
   * with ids of their own get a frame header and envelope of their own, and the payload's bytes.
   */
  private frames: Map<string, Buffer> | null = null;
  constructor(json: string) {
    this.bytesAndClose = Buffer.from(`${json}}`);
  }

  /** The frame of `envelope` with this payload, whole, if it is one of the few shared ones. */
  sharedFrame(envelope: string): Buffer | null {
    const frame = this.frames?.get(envelope);
    if (frame) return frame;
    if ((this.frames?.size ?? 0) >= SHARED_FRAMES_PER_PAYLOAD) return null;
    const head = frameHead(envelope, this.bytesAndClose.length);
    const whole = Buffer.concat([head, this.bytesAndClose], head.length + this.bytesAndClose.length);
    (this.frames ??= new Map()).set(envelope, whole);
    return whole;
  }
}

/** Distinct envelopes framed whole per payload (ids are the clients' choice; most use the same few). */
const SHARED_FRAMES_PER_PAYLOAD = 4;

/**
 * A server-to-client text frame's header (RFC 6455 §5.2: FIN, opcode 1, no mask, no RSV bits, as
 * ws frames a message sent whole without compression) followed by `envelope`, for a message of
 * `envelope` + `restLength` bytes.
 */
export function frameHead(envelope: string, restLength: number): Buffer {
  const envelopeLength = Buffer.byteLength(envelope);
  const length = envelopeLength + restLength;
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const head = Buffer.allocUnsafe(headerLength + envelopeLength);
  head[0] = 0x81;
  if (length < 126) head[1] = length;
  else if (length < 65536) {
    head[1] = 126;
    head.writeUInt16BE(length, 2);
  } else {
    head[1] = 127;
    head.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    head.writeUInt32BE(length >>> 0, 6);
  }
  head.write(envelope, headerLength);
  return head;
}

const payloadsOfResults = new WeakMap<object, SerializedPayload>();
const PLACEHOLDER = '\u0000updraft-shared-payload\u0000';
/** How the placeholder ends a message once stringified (graphql-ws puts `payload` last). */
const PLACEHOLDER_TAIL = `"payload":${JSON.stringify(PLACEHOLDER)}}`;
/**
 * The payload the last stringified message stands for. graphql-ws stringifies a message and hands
 * it to the socket in one synchronous step, so the socket hook below always reads the right one.
 */
let pendingPayload: SerializedPayload | null = null;

/** A result's payload as graphql-ws would send it, serialised once. */
function serializedPayloadOf(result: ExecutionResult): SerializedPayload {
  let serialized = payloadsOfResults.get(result);
  if (!serialized) {
    // The payload graphql-ws would have sent itself.
    const { errors, ...rest } = result;
    serialized = new SerializedPayload(JSON.stringify({ ...rest, ...(errors ? { errors: errors.map((e) => e.toJSON()) } : {}) }));
    payloadsOfResults.set(result, serialized);
  }
  return serialized;
}

/** graphql-ws options: results go out as their shared JSON, spliced in by `spliceSharedPayloads`. */
export const sharedSerialization: Pick<ServerOptions, 'onNext' | 'jsonMessageReplacer'> = {
  onNext: (_ctx, _id, _payload, _args, result) => {
    if (typeof result !== 'object' || result === null) return undefined;
    return serializedPayloadOf(result) as never;
  },
  jsonMessageReplacer(key, value) {
    if (key === 'payload' && value instanceof SerializedPayload) {
      pendingPayload = value;
      return PLACEHOLDER;
    }
    return value;
  },
};

type Callback = (error?: Error) => void;
type Send = (data: unknown, options?: { fin?: boolean; binary?: boolean } | Callback, callback?: Callback) => void;

/** What of ws's WebSocket (8.x) the direct write relies on: its Sender, idle, and no compression. */
interface WsInternals {
  readyState: number;
  _extensions: Record<string, unknown>;
  _sender?: { _state?: number; _firstFragment?: boolean; sendFrame?: (list: Buffer[], cb?: Callback) => void };
}

/**
 * The socket's Sender, when a pre-built frame may go through it as ws would send the message itself:
 * the connection open, no compression negotiated (a frame would need RSV1 and deflated bytes), no
 * fragmented message under way, and nothing queued in the Sender (its state idle), so the frame
 * keeps its place in the order of messages. Otherwise null: the message goes through `send`.
 */
function idleSender(socket: WebSocket): WsInternals['_sender'] | null {
  const ws = socket as unknown as WsInternals;
  const sender = ws._sender;
  if (ws.readyState !== 1 || !sender || typeof sender.sendFrame !== 'function') return null;
  if (sender._state !== 0 || sender._firstFragment !== true || ws._extensions['permessage-deflate']) return null;
  return sender;
}

interface RawSocket {
  cork(): void;
  uncork(): void;
}

/** Connections corked during this turn of the event loop, uncorked together at its end. */
let corked = new Set<RawSocket>();

function uncorkAll(): void {
  const sockets = corked;
  corked = new Set();
  for (const socket of sockets) socket.uncork();
}

/**
 * Holds the connection's writes until this turn of the event loop ends. One live event reaches
 * every subscriber in the same turn (the hubs wake them all at once), but each subscriber's message
 * is written after its own chain of promises, so without this the writes to a thousand sockets
 * trickle out between other work: each write then finds the receiving side asleep, and a write to a
 * socket whose reader must be woken costs several times one whose reader is awake (on a virtual
 * machine, an interrupt to another core). Written together, right after the turn, they cost what a
 * broadcast loop's writes cost. Nothing waits longer than the end of the current turn, and a
 * write's callback (graphql-ws's backpressure) still fires only once the bytes have left.
 */
function holdUntilTurnEnds(socket: WebSocket): void {
  const raw = (socket as unknown as { _socket?: RawSocket })._socket;
  if (!raw || typeof raw.cork !== 'function' || corked.has(raw)) return;
  raw.cork();
  corked.add(raw);
  if (corked.size === 1) setImmediate(uncorkAll);
}

/**
 * Makes `socket` send the shared payload where a message carries the placeholder, inside the
 * subscriber's own envelope: framed once for every subscriber with the same envelope, and the
 * same bytes written to each of their sockets (as a bare broadcast does); or, for an envelope of
 * its own, a header and envelope of its own written with the shared payload bytes. One message,
 * one frame, in order with the socket's other messages. Call on each new connection.
 */
export function spliceSharedPayloads(socket: WebSocket): void {
  const send = socket.send.bind(socket) as Send;
  (socket as unknown as { send: Send }).send = (data, options, callback) => {
    if (pendingPayload !== null && typeof data === 'string' && data.endsWith(PLACEHOLDER_TAIL)) {
      const payload = pendingPayload;
      pendingPayload = null;
      const envelope = `${data.slice(0, data.length - PLACEHOLDER_TAIL.length)}"payload":`;
      const done = typeof options === 'function' ? options : callback;
      const sender = idleSender(socket);
      if (sender) {
        const frame = payload.sharedFrame(envelope);
        holdUntilTurnEnds(socket);
        sender.sendFrame!(frame ? [frame] : [frameHead(envelope, payload.bytesAndClose.length), payload.bytesAndClose], done);
        return;
      }
      const head = Buffer.from(envelope);
      send(Buffer.concat([head, payload.bytesAndClose], head.length + payload.bytesAndClose.length), { binary: false }, done);
      return;
    }
    send(data, options as never, callback);
  };
}
