/**
 * WebSocket keep-alive: ping every client on an interval and drop the ones that did not answer the
 * previous ping. A client gone without a goodbye (laptop closed, network cut) then frees its
 * subscriptions within two intervals, instead of holding them until TCP gives up.
 */
import type { WebSocket, WebSocketServer } from 'ws';

export function keepWebSocketsAlive(server: WebSocketServer, intervalMs: number): { stop(): void } {
  const alive = new WeakMap<WebSocket, boolean>();
  server.on('connection', (socket) => {
    alive.set(socket, true);
    socket.on('pong', () => alive.set(socket, true));
  });
  const timer = setInterval(() => {
    for (const socket of server.clients) {
      if (alive.get(socket) === false) {
        socket.terminate();
        continue;
      }
      alive.set(socket, false);
      socket.ping();
    }
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
