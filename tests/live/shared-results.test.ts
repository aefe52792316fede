/**
 * Live results are executed once per event for every subscriber with the same document,
 * variables, unit and permissions (server/src/live/shared-results.ts). Sharing must never hand one
 * subscriber what another may see: two subscribers of one job whose permissions differ in a field
 * the document asks for each get their own answer, event after event, and subscribers with equal
 * permissions get equal ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { waitFor } from '../engine/support.js';
import { startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { subscribe, type Subscription, type SubscriptionEvent } from '../support/subscriptions.js';
import { createUpgradeJob, expectSuccess, seedProduct, uploadFirmware } from '../support/fixtures.js';

const PROGRESS = `subscription($id: ID!) { jobProgress(jobId: $id) {
  statusCounts { toBePushed failed } product { productKey deviceCount } } }`;

let t: TestServer;
let jobId: string;
let otaOnly: TestUser;
let withDevices: TestUser[];
const open: Subscription[] = [];

beforeAll(async () => {
  t = await startTestServer({ engineEnabled: false, jobProgressIntervalMs: 50 });
  await seedProduct(t, 'shared', 6);
  const firmware = await uploadFirmware(t, { productKey: 'shared', name: 'Two', version: '2.0' });
  jobId = await createUpgradeJob(t, { firmwareId: firmware.id, scope: { allDevices: true } });
  otaOnly = await t.createUser({ permissions: ['OTA_READ'] });
  withDevices = [await t.createUser({ permissions: ['OTA_READ', 'DEVICE_READ'] }), await t.createUser({ permissions: ['OTA_READ', 'DEVICE_READ'] })];
});
afterAll(async () => {
  await Promise.all(open.map((s) => s.dispose()));
  await t?.close();
});

function follow(user: TestUser): Subscription {
  const subscription = subscribe({ url: t.server.wsUrl, query: PROGRESS, variables: { id: jobId }, connectionParams: t.connectionParams(user.token) });
  open.push(subscription);
  return subscription;
}

/** The next event whose failed count is `failed` (or whose errors say it cannot be read). */
async function nextWith(subscription: Subscription, failed: number): Promise<SubscriptionEvent & { kind: 'next' }> {
  for (;;) {
    const event = await subscription.next(30_000);
    expect(event.kind).toBe('next');
    const next = event as SubscriptionEvent & { kind: 'next' };
    if (next.errors || next.data?.jobProgress?.statusCounts.failed === failed) return next;
  }
}

describe('shared live results', () => {
  it('give each permission set its own answer, and equal permission sets equal answers', async () => {
    const a = follow(otaOnly);
    const [b1, b2] = withDevices.map(follow);
    for (let cancelled = 0; cancelled <= 2; cancelled++) {
      if (cancelled > 0) {
        const result = await t.gql(
          `mutation($input: CancelUpgradeInput!) { cancelUpgrade(input: $input) { __typename ... on MutationCancelUpgradeSuccess { data { notCancelled { deviceKey } } } ... on Error { message } } }`,
          { input: { jobId, deviceKeys: [`dev-000${cancelled}`] } },
        );
        expect(expectSuccess<{ notCancelled: unknown[] }>(result, 'cancelUpgrade').notCancelled).toEqual([]);
      }
      const [eventB1, eventB2] = await Promise.all([nextWith(b1, cancelled), nextWith(b2, cancelled)]);
      expect(eventB1.errors).toBeUndefined();
      expect(eventB1.data.jobProgress).toEqual({
        statusCounts: { toBePushed: 6 - cancelled, failed: cancelled },
        product: { productKey: 'shared', deviceCount: 6 },
      });
      expect(eventB2.data).toEqual(eventB1.data);
      // The subscriber without DEVICE_READ is told so, every time; it never gets the device count.
      const eventA = await a.next(30_000);
      expect(eventA.kind).toBe('next');
      const refused = eventA as SubscriptionEvent & { kind: 'next' };
      expect(JSON.stringify(refused.data ?? null)).not.toContain('deviceCount');
      expect(refused.errors?.map((e) => e.extensions?.code)).toContain('FORBIDDEN');
      expect(refused.errors?.[0].message).toContain('DEVICE_READ');
    }
  });
});

describe('live results written straight to the socket', () => {
  /** A raw graphql-transport-ws connection: every text message kept as the bytes arrived. */
  async function rawConnection(user: TestUser) {
    const socket = new WebSocket(t.server.wsUrl, 'graphql-transport-ws');
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const messages: string[] = [];
    socket.on('message', (raw) => messages.push(String(raw)));
    socket.send(JSON.stringify({ type: 'connection_init', payload: t.connectionParams(user.token) }));
    await waitFor(() => messages.some((m) => JSON.parse(m).type === 'connection_ack'), { what: 'connection_ack' });
    return {
      messages,
      nexts: (id: string) => messages.filter((m) => JSON.parse(m).type === 'next' && JSON.parse(m).id === id),
      send: (message: object) => socket.send(JSON.stringify(message)),
      close: () => socket.close(),
    };
  }

  it("send graphql-ws's own messages, the same bytes for equal ids, and nothing after the client's complete", async () => {
    const [user] = withDevices;
    // An id that JSON must escape; two connections share it, a third uses another.
    const id = 'dash "board" \\ é';
    const connections = [await rawConnection(user), await rawConnection(user), await rawConnection(user)];
    const ids = [id, id, 'other'];
    connections.forEach((c, i) => {
      c.send({ id: ids[i], type: 'subscribe', payload: { query: PROGRESS, variables: { id: jobId } } });
    });
    await waitFor(() => connections.every((c, i) => c.nexts(ids[i]).length >= 1), { what: 'first states' });

    const cancel = async (deviceKey: string) => {
      const result = await t.gql(`mutation($input: CancelUpgradeInput!) { cancelUpgrade(input: $input) { __typename } }`, {
        input: { jobId, deviceKeys: [deviceKey] },
      });
      expect(result.data.cancelUpgrade.__typename).toBe('MutationCancelUpgradeSuccess');
    };
    const failedIn = (message: string) => JSON.parse(message).payload.data.jobProgress.statusCounts.failed as number;
    const before = failedIn(connections[0].nexts(id).at(-1)!);
    await cancel('dev-0004');
    await waitFor(() => connections.every((c, i) => failedIn(c.nexts(ids[i]).at(-1)!) === before + 1), { what: 'the change on every connection' });

    for (const [i, c] of connections.entries()) {
      for (const message of c.nexts(ids[i])) {
        const parsed = JSON.parse(message);
        // Exactly what graphql-ws writes for a next message: id, type, payload, in that order.
        expect(message).toBe(JSON.stringify({ id: ids[i], type: 'next', payload: parsed.payload }));
        expect(parsed.payload.errors).toBeUndefined();
      }
    }
    // The same event, the same bytes, whichever connection.
    expect(connections[1].nexts(id).at(-1)).toBe(connections[0].nexts(id).at(-1));

    // The client completes: nothing more for that id, while the others keep receiving.
    connections[0].send({ id, type: 'complete' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const sent = connections[0].nexts(id).length;
    await cancel('dev-0005');
    await waitFor(() => failedIn(connections[1].nexts(id).at(-1)!) === before + 2, { what: 'the next change' });
    await waitFor(() => failedIn(connections[2].nexts('other').at(-1)!) === before + 2, { what: 'the next change, other id' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(connections[0].nexts(id).length).toBe(sent);
    for (const c of connections) c.close();
  });
});
