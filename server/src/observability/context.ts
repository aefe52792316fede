/**
 * The request an asynchronous chain of work belongs to: set where an HTTP request or a WebSocket
 * operation enters, read by the logger (every line logged inside carries its id) and by the domain
 * events that carry the id on to the engine and the gateway (events/bus.ts).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

export interface LogContext {
  /** The HTTP request or WebSocket operation this work serves. */
  reqId?: string;
  /** Work that several requests led to (an engine pass after their kicks). */
  causedBy?: string[];
}

const storage = new AsyncLocalStorage<LogContext>();

export function runWithLogContext<T>(context: LogContext, work: () => T): T {
  return storage.run(context, work);
}

export function currentLogContext(): LogContext | undefined {
  return storage.getStore();
}

/** The request id of the current chain of work, if it serves one. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.reqId;
}

/** Header that carries the id in and out: a caller's own id is kept when it is sane, else one is made. */
export const REQUEST_ID_HEADER = 'x-request-id';

const SANE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  const given = Array.isArray(header) ? header[0] : header;
  return given && SANE_ID.test(given) ? given : randomUUID();
}
