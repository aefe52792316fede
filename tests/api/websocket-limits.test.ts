/**
 * WebSocket limits (docs/api.md, "Limits"): a message over WS_MAX_MESSAGE_BYTES closes the
 * connection (1009) before it is buffered, authenticated or not; a connection that sends no
 * connection_init within WS_CONNECTION_INIT_TIMEOUT_MS is closed (4408); within both, graphql-ws
 * works as ever.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ engineEnabled: false });
});
afterAll(() => t?.close());

function open(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(t.server.wsUrl, 'graphql-transport-ws');
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

const closed = (socket: WebSocket) =>
  new Promise<{ code: number; reason: string; at: number }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString(), at: performance.now() })),
  );

describe('WebSocket limits', () => {
  it('a 60 MB connection_init (the probe) closes the connection with 1009, unauthenticated', async () => {
    // Built before the socket opens, so that it is sent well within the connection_init deadline.
    const init = JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(60_000_000) } });
    const socket = await open();
    socket.on('error', () => {}); // the server may reset while the client still sends
    const end = closed(socket);
    socket.send(init);
    const { code } = await end;
    expect(code).toBe(1009);
  });

  it('a message just over 1 MiB after connection_ack closes it too; one under it is served', async () => {
    const socket = await open();
    const messages: { type: string; id?: string; payload?: any }[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    socket.send(JSON.stringify({ type: 'connection_init', payload: t.connectionParams() }));
    await expect.poll(() => messages.map((m) => m.type)).toContain('connection_ack');
    // Under the limit: 900 kB of (unused) variables.
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ __typename }', variables: { pad: 'x'.repeat(900_000) } } }));
    await expect.poll(() => messages.find((m) => m.id === '1' && m.type === 'next')?.payload).toEqual({ data: { __typename: 'Query' } });
    const end = closed(socket);
    socket.send(JSON.stringify({ id: '2', type: 'subscribe', payload: { query: '{ __typename }', variables: { pad: 'x'.repeat(1024 * 1024) } } }));
    expect((await end).code).toBe(1009);
    expect(messages.some((m) => m.id === '2')).toBe(false);
  });

  it('a connection that never sends connection_init is closed at the deadline (3 s) with 4408', async () => {
    const socket = await open();
    const opened = performance.now();
    const { code, reason, at } = await closed(socket);
    expect(code).toBe(4408);
    expect(reason).toMatch(/initialisation timeout/i);
    // Not a timing assertion on speed: it waited for the deadline, not closed at once.
    expect(at - opened).toBeGreaterThanOrEqual(2900);
  });
});
