/**
 * A live subscription lasts no longer than its credential: revoking the token (or signing out of
 * the session, disabling the user, letting the token expire) closes graphql-ws connections with
 * 4401 and ends SSE streams with an UNAUTHENTICATED error; fewer permissions close with 4403 so that
 * clients reconnect with what they may now do. With Redis, a revocation on one instance closes
 * subscriptions held by another.
 */
import { encodeGlobalID } from '@pothos/plugin-relay';
import { startServer } from '@updraft/server/app.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProduct, createUpgradeJob, registerDevices, uploadFirmware } from '../support/fixtures.js';
import { bearer, startTestServer, type TestServer } from '../support/server.js';
import { type Subscription, subscribe } from '../support/subscriptions.js';
import { cookieHeader, post, signIn } from './browser.js';

const JOB_PROGRESS = 'subscription($id: ID!) { jobProgress(jobId: $id) { id status progress } }';

let t: TestServer;
let jobId: string;

beforeAll(async () => {
  t = await startTestServer();
  await createProduct(t, 'live-meter');
  await registerDevices(t, 'live-meter', [{ deviceKey: 'live-1', firmwareVersion: '1.0.0' }]);
  const firmware = await uploadFirmware(t, { productKey: 'live-meter', name: 'Live', version: '2.0.0' });
  jobId = await createUpgradeJob(t, { firmwareId: firmware.id, name: 'Live job', scope: { allDevices: true } });
});
afterAll(async () => {
  await t?.close();
});

/** Opens jobProgress and waits for its first event (the job's current state): the subscription is live. */
async function liveSubscription(options: { url?: string; token?: string; headers?: Record<string, string> }): Promise<Subscription> {
  const subscription = subscribe({
    url: options.url ?? t.server.wsUrl,
    query: JOB_PROGRESS,
    variables: { id: jobId },
    connectionParams: options.token ? t.connectionParams(options.token) : undefined,
    headers: options.headers,
  });
  const first = await subscription.next();
  expect(first, JSON.stringify(first)).toMatchObject({ kind: 'next', data: { jobProgress: { id: jobId } } });
  return subscription;
}

const revoke = (id: string, as = t.gql) => as(`mutation($id: ID!) { revokeApiToken(id: $id) { __typename } }`, { id: encodeGlobalID('ApiToken', id) });
const userIdOf = async (user: { gql: TestServer['gql'] }) => (await user.gql('{ me { user { id } } }')).data.me.user.id as string;

describe('graphql-ws', () => {
  it('revoking the token closes its connection (4401), and the token opens no new one', async () => {
    const user = await t.createUser({ permissions: ['OTA_READ'] });
    const subscription = await liveSubscription({ token: user.token });
    const others = await liveSubscription({ token: (await t.createUser({ permissions: ['OTA_READ'] })).token });

    expect((await revoke(user.tokenId, user.gql)).data.revokeApiToken.__typename).toBe('MutationRevokeApiTokenSuccess');
    expect(await subscription.closed).toEqual({ code: 4401, reason: 'The token or session was revoked: sign in again' });

    const again = subscribe({ url: t.server.wsUrl, query: JOB_PROGRESS, variables: { id: jobId }, connectionParams: t.connectionParams(user.token) });
    expect(await again.closed).toEqual({ code: 4401, reason: 'The token was revoked' });
    // Another user's subscription on the same job is untouched.
    await t.gql(`mutation($id: ID!) { stopJob(id: $id) { __typename } }`, { id: jobId });
    expect(await others.next()).toMatchObject({ kind: 'next', data: { jobProgress: { status: 'STOPPED' } } });
    await t.gql(`mutation($id: ID!) { startJob(id: $id) { __typename } }`, { id: jobId });
    await Promise.all([subscription.dispose(), others.dispose(), again.dispose()]);
  });

  it('signing out closes the dashboard connection that came with the session cookie', async () => {
    await t.createUser({ username: 'dashboard-user', password: 'dashboard password', permissions: ['OTA_READ'] });
    const { session } = await signIn(t.server.graphqlUrl, { username: 'dashboard-user', password: 'dashboard password' });
    const subscription = await liveSubscription({ headers: { ...cookieHeader(session!), origin: t.server.url } });
    expect((await post(t.server.graphqlUrl, 'mutation { signOut }', {}, cookieHeader(session!))).data).toEqual({ signOut: true });
    expect((await subscription.closed).code).toBe(4401);
    await subscription.dispose();
  });

  it("refuses the session cookie from another origin's page", async () => {
    await t.createUser({ username: 'cross-origin', password: 'dashboard password', permissions: ['OTA_READ'] });
    const { session } = await signIn(t.server.graphqlUrl, { username: 'cross-origin', password: 'dashboard password' });
    const subscription = subscribe({
      url: t.server.wsUrl,
      query: JOB_PROGRESS,
      variables: { id: jobId },
      headers: { ...cookieHeader(session!), origin: 'https://evil.example' },
    });
    const closed = await subscription.closed;
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/only accepted from this server's own pages/);
    await subscription.dispose();
  });

  it('disabling the user closes their connections', async () => {
    const user = await t.createUser({ permissions: ['OTA_READ'] });
    const subscription = await liveSubscription({ token: user.token });
    const answer = await t.gql(`mutation($id: ID!) { updateUser(input: { userId: $id, disabled: true }) { __typename } }`, { id: await userIdOf(user) });
    expect(answer.data.updateUser.__typename).toBe('MutationUpdateUserSuccess');
    expect((await subscription.closed).code).toBe(4401);
    await subscription.dispose();
  });

  it('an expiring token closes its connection when it expires', async () => {
    const user = await t.createUser({ permissions: ['OTA_READ'], tokenExpiresAt: new Date(Date.now() + 4000) });
    const subscription = await liveSubscription({ token: user.token });
    expect(await subscription.closed).toEqual({ code: 4401, reason: 'The token or session expired: sign in again' });
    await subscription.dispose();
  });

  it('losing the permission closes with 4403; subscribing again is FORBIDDEN', async () => {
    const user = await t.createUser({ permissions: ['OTA_READ', 'FIRMWARE_READ'] });
    const subscription = await liveSubscription({ token: user.token });
    const answer = await t.gql(`mutation($id: ID!) { updateRole(input: { roleId: $id, permissions: [FIRMWARE_READ] }) { __typename } }`, {
      id: encodeGlobalID('Role', user.roleId),
    });
    expect(answer.data.updateRole.__typename).toBe('MutationUpdateRoleSuccess');
    expect(await subscription.closed).toEqual({ code: 4403, reason: 'Your permissions changed: subscribe again' });

    const again = subscribe({ url: t.server.wsUrl, query: JOB_PROGRESS, variables: { id: jobId }, connectionParams: t.connectionParams(user.token) });
    const event = await again.next();
    expect(event.kind === 'next' || event.kind === 'error' ? event.errors?.[0].extensions : undefined).toEqual({ code: 'FORBIDDEN', permission: 'OTA_READ' });
    await Promise.all([subscription.dispose(), again.dispose()]);
  });

  it.skipIf(!process.env.REDIS_TEST_URL)('a revocation on one instance closes the subscription held by another (Redis)', async () => {
    const config = { ...t.server.services.config, port: 0, adminToken: t.adminToken, redisUrl: process.env.REDIS_TEST_URL };
    const [first, second] = [await startServer(config, t.database.handle), await startServer(config, t.database.handle)];
    try {
      const user = await t.createUser({ permissions: ['OTA_READ'] });
      const subscription = await liveSubscription({ url: second.wsUrl, token: user.token });
      const revoked = await post(
        first.graphqlUrl,
        `mutation($id: ID!) { revokeApiToken(id: $id) { __typename } }`,
        { id: encodeGlobalID('ApiToken', user.tokenId) },
        bearer(t.adminToken),
      );
      expect(revoked.data.revokeApiToken.__typename).toBe('MutationRevokeApiTokenSuccess');
      expect((await subscription.closed).code).toBe(4401);
      await subscription.dispose();
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});

describe('SSE', () => {
  /** A GraphQL-over-SSE stream ("distinct connections" mode), read event by event. */
  async function openStream(token: string) {
    const controller = new AbortController();
    const response = await fetch(t.server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...bearer(token) },
      body: JSON.stringify({ query: JOB_PROGRESS, variables: { id: jobId } }),
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    return {
      /** The next event with data (keep-alive comments skipped); null when the stream ended. */
      async next(): Promise<{ event: string; data: any } | null> {
        for (;;) {
          const end = buffer.indexOf('\n\n');
          if (end >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (data !== undefined || event === 'complete') return { event, data: data ? JSON.parse(data) : null };
            continue;
          }
          const chunk = await reader.read();
          if (chunk.done) return null;
          buffer += chunk.value;
        }
      },
      close: () => controller.abort(),
    };
  }

  it('revoking the token ends the stream with an UNAUTHENTICATED error', async () => {
    const user = await t.createUser({ permissions: ['OTA_READ'] });
    const stream = await openStream(user.token);
    expect(await stream.next()).toMatchObject({ event: 'next', data: { data: { jobProgress: { id: jobId } } } });
    await revoke(user.tokenId);
    expect(await stream.next()).toEqual({
      event: 'next',
      data: { errors: [{ message: 'The token or session was revoked: sign in again', extensions: { code: 'UNAUTHENTICATED' } }] },
    });
    expect(await stream.next()).toMatchObject({ event: 'complete' });
    stream.close();
  });
});
