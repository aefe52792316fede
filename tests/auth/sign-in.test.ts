/**
 * Dashboard sign-in: with a username and password, or by exchanging an API token, for a session
 * kept in an HttpOnly SameSite=Strict cookie; sign-out; expiry; rate limits stored in the database
 * and shared by every instance.
 */
import { encodeGlobalID } from '@pothos/plugin-relay';
import { startServer, type RunningServer } from '@updraft/server/app.js';
import { MAX_FAILURES_PER_ADDRESS, MAX_FAILURES_PER_USERNAME } from '@updraft/server/auth/throttle.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, startTestServer, type TestServer } from '../support/server.js';
import { subscribe } from '../support/subscriptions.js';
import { cookieHeader, post, SIGN_IN, signIn } from './browser.js';

let t: TestServer;
const PASSWORD = 'correct horse battery staple';

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const ME = '{ me { user { username } permissions authenticatedWith } }';

describe('with a username and password', () => {
  it('opens a session in an HttpOnly, SameSite=Strict cookie that the answer never shows', async () => {
    await t.createUser({ username: 'olivia', password: PASSWORD, permissions: ['OTA_READ', 'FIRMWARE_READ'] });
    const { answer, result, session } = await signIn(t.server.graphqlUrl, { username: 'Olivia', password: PASSWORD });

    expect(result).toMatchObject({
      __typename: 'MutationSignInSuccess',
      data: { user: { username: 'olivia' }, organisationUnit: { name: 'Default' }, permissions: ['FIRMWARE_READ', 'OTA_READ'], authenticatedWith: 'SESSION' },
    });
    expect(session).toMatch(/^updraft_[A-Za-z0-9_-]{43}$/);
    const attributes = answer.setCookie!.split(';').map((part) => part.trim());
    expect(attributes).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/']));
    const maxAge = Number(attributes.find((a) => a.startsWith('Max-Age='))!.slice('Max-Age='.length));
    expect(maxAge).toBeGreaterThan(11 * 3600);
    expect(maxAge).toBeLessThanOrEqual(12 * 3600);
    expect(JSON.stringify(answer.data)).not.toContain(session!);

    const me = await post(t.server.graphqlUrl, ME, {}, cookieHeader(session!));
    expect(me.data.me).toEqual({ user: { username: 'olivia' }, permissions: ['FIRMWARE_READ', 'OTA_READ'], authenticatedWith: 'SESSION' });
    const jobs = await post(t.server.graphqlUrl, '{ jobs { totalCount } devices { totalCount } }', {}, cookieHeader(session!));
    expect(jobs.errors?.[0].extensions).toEqual({ code: 'FORBIDDEN', permission: 'DEVICE_READ' });
  });

  it('answers every wrong credential with the same SignInFailedError', async () => {
    await t.createUser({ username: 'paul', password: PASSWORD, permissions: ['OTA_READ'] });
    await t.createUser({ username: 'tokenonly', permissions: ['OTA_READ'] });
    const disabled = await t.createUser({ username: 'dora', password: PASSWORD, permissions: ['OTA_READ'] });
    await t.gql(`mutation($id: ID!) { updateUser(input: { userId: $id, disabled: true }) { __typename } }`, {
      id: (await disabled.gql('{ me { user { id } } }')).data.me.user.id,
    });
    const attempts = [
      { username: 'paul', password: 'not the password' },
      { username: 'nobody-here', password: PASSWORD },
      { username: 'tokenonly', password: PASSWORD },
      { username: 'dora', password: PASSWORD },
      { token: 'updraft_not-a-token' },
    ];
    const messages = new Set<string>();
    for (const input of attempts) {
      const { result, session, answer } = await signIn(t.server.graphqlUrl, input);
      expect(result.__typename, JSON.stringify(input)).toBe('SignInFailedError');
      expect(session).toBeNull();
      expect(answer.setCookie).toBeNull();
      messages.add(result.message);
    }
    expect([...messages]).toEqual(['Sign-in failed: the username and password, or the token, are not valid.']);
  });

  it('is refused over WebSocket, which cannot set the cookie', async () => {
    await t.createUser({ username: 'socket-user', password: PASSWORD, permissions: ['OTA_READ'] });
    const overSocket = subscribe({ url: t.server.wsUrl, query: SIGN_IN, variables: { input: { username: 'socket-user', password: PASSWORD } } });
    const event = await overSocket.next();
    expect(event.kind === 'next' && event.data.signIn).toMatchObject({
      __typename: 'InvalidInputError',
      message: 'sign in over HTTP: a WebSocket cannot set the session cookie',
    });
    await overSocket.dispose();
    const sessions = await t.database.handle.rawQuery(
      `select id from api_tokens where kind = 'SESSION' and user_id = (select id from users where username = 'socket-user')`,
    );
    expect(sessions).toEqual([]);
  });

  it('asks for a username and password, or a token, and not both', async () => {
    for (const input of [{}, { username: 'paul' }, { token: t.adminToken, username: 'admin', password: PASSWORD }]) {
      const { result } = await signIn(t.server.graphqlUrl, input);
      expect(result.__typename, JSON.stringify(input)).toBe('InvalidInputError');
    }
  });
});

describe('with an API token', () => {
  it("opens a session with the token's permissions, which ends when the token is revoked", async () => {
    const user = await t.createUser({ permissions: ['OTA_READ', 'FIRMWARE_READ', 'DEVICE_READ'], tokenPermissions: ['OTA_READ'] });
    const { result, session } = await signIn(t.server.graphqlUrl, { token: user.token });
    expect(result.data.permissions).toEqual(['OTA_READ']);
    expect((await post(t.server.graphqlUrl, ME, {}, cookieHeader(session!))).data.me.permissions).toEqual(['OTA_READ']);

    await t.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { __typename } }`, { id: encodeGlobalID('ApiToken', user.tokenId) });
    const after = await post(t.server.graphqlUrl, '{ jobs { totalCount } }', {}, cookieHeader(session!));
    expect(after.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(after.errors?.[0].message).toMatch(/^The session has ended: sign in again/);
    expect(after.setCookie, 'the dead cookie is cleared').toMatch(/^updraft_session=; .*Max-Age=0/);
  });

  it('never outlives the token it was opened with', async () => {
    const expiresAt = new Date(Date.now() + 60 * 60_000);
    const user = await t.createUser({ permissions: ['OTA_READ'], tokenExpiresAt: expiresAt });
    const { result } = await signIn(t.server.graphqlUrl, { token: user.token });
    expect(result.data.expiresAt).toBe(expiresAt.toISOString());
  });

  it('does not accept a session as a Bearer token, nor an API token as the cookie', async () => {
    const user = await t.createUser({ permissions: ['OTA_READ'] });
    const { session } = await signIn(t.server.graphqlUrl, { token: user.token });
    expect((await post(t.server.graphqlUrl, ME, {}, bearer(session!))).data.me).toBeNull();
    expect((await post(t.server.graphqlUrl, ME, {}, cookieHeader(user.token))).data.me).toBeNull();
  });
});

describe('sign-out', () => {
  it('ends the session and clears the cookie', async () => {
    await t.createUser({ username: 'sam', password: PASSWORD, permissions: ['OTA_READ'] });
    const { session } = await signIn(t.server.graphqlUrl, { username: 'sam', password: PASSWORD });
    const out = await post(t.server.graphqlUrl, 'mutation { signOut }', {}, cookieHeader(session!));
    expect(out.data).toEqual({ signOut: true });
    expect(out.setCookie).toMatch(/^updraft_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0/);
    const me = await post(t.server.graphqlUrl, ME, {}, cookieHeader(session!));
    expect(me.data.me).toBeNull();
    const jobs = await post(t.server.graphqlUrl, '{ jobs { totalCount } }', {}, cookieHeader(session!));
    expect(jobs.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('signing in again ends the previous session of the browser', async () => {
    await t.createUser({ username: 'rita', password: PASSWORD, permissions: ['OTA_READ'] });
    const first = await signIn(t.server.graphqlUrl, { username: 'rita', password: PASSWORD });
    const second = await signIn(t.server.graphqlUrl, { username: 'rita', password: PASSWORD }, cookieHeader(first.session!));
    expect((await post(t.server.graphqlUrl, ME, {}, cookieHeader(first.session!))).data.me).toBeNull();
    expect((await post(t.server.graphqlUrl, ME, {}, cookieHeader(second.session!))).data.me.user.username).toBe('rita');
  });
});

describe('expiry', () => {
  it('an expired API token is refused, saying so', async () => {
    const user = await t.createUser({ permissions: ['OTA_READ'], tokenExpiresAt: new Date(Date.now() - 1000) });
    const answer = await user.gql('{ jobs { totalCount } }');
    expect(answer.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(answer.errors?.[0].message).toMatch(/^The token expired at \d{4}-\d\d-\d\dT/);
    expect((await signIn(t.server.graphqlUrl, { token: user.token })).result.__typename).toBe('SignInFailedError');
  });

  it('an expired session is refused', async () => {
    await t.createUser({ username: 'erin', password: PASSWORD, permissions: ['OTA_READ'] });
    const { session } = await signIn(t.server.graphqlUrl, { username: 'erin', password: PASSWORD });
    await t.database.handle.rawQuery(
      `update api_tokens set expires_at = now() - interval '1 second' where kind = 'SESSION' and user_id = (select id from users where username = 'erin')`,
    );
    const answer = await post(t.server.graphqlUrl, '{ jobs { totalCount } }', {}, cookieHeader(session!));
    expect(answer.errors?.[0].message).toMatch(/^The session expired at /);
  });
});

describe('rate limits', () => {
  it(`refuses a username after ${MAX_FAILURES_PER_USERNAME} failures, even with the right password, on every instance`, async () => {
    await t.createUser({ username: 'victor', password: PASSWORD, permissions: ['OTA_READ'] });
    // A second instance on the same database: the attempts are counted in the database.
    const second: RunningServer = await startServer({ ...t.server.services.config, port: 0, adminToken: t.adminToken }, t.database.handle);
    try {
      for (let i = 0; i < MAX_FAILURES_PER_USERNAME; i++) {
        const url = i % 2 ? second.graphqlUrl : t.server.graphqlUrl;
        expect((await signIn(url, { username: 'victor', password: `wrong ${i}` })).result.__typename).toBe('SignInFailedError');
      }
      for (const url of [t.server.graphqlUrl, second.graphqlUrl]) {
        const { result, session } = await signIn(url, { username: 'VICTOR', password: PASSWORD });
        expect(result.__typename).toBe('TooManyAttemptsError');
        expect(result.retryAfterSeconds).toBeGreaterThan(0);
        expect(result.retryAfterSeconds).toBeLessThanOrEqual(15 * 60);
        expect(session).toBeNull();
      }
      // Another user from the same address is not affected.
      await t.createUser({ username: 'wendy', password: PASSWORD, permissions: ['OTA_READ'] });
      expect((await signIn(t.server.graphqlUrl, { username: 'wendy', password: PASSWORD })).result.__typename).toBe('MutationSignInSuccess');

      // Once the window is over, the right password works again (the window is moved back rather than waited for).
      await t.database.handle.rawQuery(`update sign_in_throttles set window_started_at = now() - interval '16 minutes' where key = 'user:victor'`);
      expect((await signIn(second.graphqlUrl, { username: 'victor', password: PASSWORD })).result.__typename).toBe('MutationSignInSuccess');
    } finally {
      await second.close();
    }
  });

  it(`refuses an address after ${MAX_FAILURES_PER_ADDRESS} failures, whatever the username`, async () => {
    await t.database.handle.rawQuery(`delete from sign_in_throttles`);
    await t.createUser({ username: 'xena', password: PASSWORD, permissions: ['OTA_READ'] });
    for (let i = 0; i < MAX_FAILURES_PER_ADDRESS; i++) {
      const { result } = await signIn(
        t.server.graphqlUrl,
        i % 3 === 0 ? { token: `updraft_guess_${i}` } : { username: `guess-${i}`, password: 'guess guess guess' },
      );
      expect(result.__typename).toBe('SignInFailedError');
    }
    const { result } = await signIn(t.server.graphqlUrl, { username: 'xena', password: PASSWORD });
    expect(result.__typename).toBe('TooManyAttemptsError');
    const rows = await t.database.handle.rawQuery<{ key: string; attempts: number }>(`select key, attempts from sign_in_throttles where key like 'address:%'`);
    expect(rows).toEqual([{ key: 'address:127.0.0.1', attempts: MAX_FAILURES_PER_ADDRESS + 1 }]);
    await t.database.handle.rawQuery(`delete from sign_in_throttles`);
  });
});

describe("changing one's own password", () => {
  it('needs the current password, then ends the other sessions but not this one', async () => {
    await t.createUser({ username: 'carol', password: PASSWORD, permissions: [] });
    const other = await signIn(t.server.graphqlUrl, { username: 'carol', password: PASSWORD });
    const current = await signIn(t.server.graphqlUrl, { username: 'carol', password: PASSWORD });
    const change = `mutation($input: ChangePasswordInput!) { changePassword(input: $input) { __typename ... on InvalidInputError { issues { path message } } } }`;

    const wrong = await post(
      t.server.graphqlUrl,
      change,
      { input: { currentPassword: 'not it at all', newPassword: 'a brand new password' } },
      cookieHeader(current.session!),
    );
    expect(wrong.data.changePassword).toEqual({
      __typename: 'InvalidInputError',
      issues: [{ path: ['input', 'currentPassword'], message: 'is not your current password' }],
    });

    const right = await post(
      t.server.graphqlUrl,
      change,
      { input: { currentPassword: PASSWORD, newPassword: 'a brand new password' } },
      cookieHeader(current.session!),
    );
    expect(right.data.changePassword.__typename).toBe('MutationChangePasswordSuccess');
    expect((await post(t.server.graphqlUrl, ME, {}, cookieHeader(other.session!))).data.me).toBeNull();
    expect((await post(t.server.graphqlUrl, ME, {}, cookieHeader(current.session!))).data.me.user.username).toBe('carol');
    expect((await signIn(t.server.graphqlUrl, { username: 'carol', password: PASSWORD })).result.__typename).toBe('SignInFailedError');
    expect((await signIn(t.server.graphqlUrl, { username: 'carol', password: 'a brand new password' })).result.__typename).toBe('MutationSignInSuccess');
  });
});
