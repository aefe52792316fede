/**
 * Administration of an organisation unit (OU_ADMIN): users, roles, role assignments, tokens; the
 * rules that keep tokens within their owner's rights and keep the unit administrable.
 */
import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectSuccess } from '../support/fixtures.js';
import { type Gql, startTestServer, type TestServer } from '../support/server.js';
import { signIn } from './browser.js';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const PASSWORD = 'operator password 1';

async function createRole(name: string, permissions: string[], as: Gql = t.gql): Promise<string> {
  const answer = await as(
    `mutation($input: CreateRoleInput!) { createRole(input: $input) { __typename ... on MutationCreateRoleSuccess { data { id } } ... on Error { message } } }`,
    { input: { name, permissions } },
  );
  return expectSuccess<{ id: string }>(answer, 'createRole').id;
}

async function createUser(username: string, roleIds: string[], password?: string): Promise<string> {
  const answer = await t.gql(
    `mutation($input: CreateUserInput!) { createUser(input: $input) { __typename ... on MutationCreateUserSuccess { data { id } } ... on Error { message } } }`,
    { input: { username, password, roleIds } },
  );
  return expectSuccess<{ id: string }>(answer, 'createUser').id;
}

async function createToken(as: Gql, permissions: string[], userId?: string) {
  return as(
    `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { __typename
      ... on MutationCreateApiTokenSuccess { data { token apiToken { id name permissions active owner { username } } } }
      ... on InvalidInputError { issues { path message } } ... on Error { message } } }`,
    { input: { name: 'integration', permissions, userId } },
  );
}

const asToken =
  (token: string): Gql =>
  (query, variables, headers) =>
    t.gql(query, variables, { authorization: `Bearer ${token}`, ...headers });

describe('users and roles', () => {
  it('an administrator creates a role and a user who signs in with exactly its permissions', async () => {
    const role = await createRole('Release manager', ['FIRMWARE_READ', 'OTA_READ', 'OTA_CREATE']);
    const userId = await createUser('Rel.Manager@example.com', [role], PASSWORD);

    const { result } = await signIn(t.server.graphqlUrl, { username: 'rel.manager@example.com', password: PASSWORD });
    expect(result.data).toMatchObject({ user: { username: 'rel.manager@example.com' }, permissions: ['FIRMWARE_READ', 'OTA_READ', 'OTA_CREATE'] });

    const users = await t.gql('{ users { id username roles { name } permissions hasPassword disabled } }');
    expect(users.data.users).toContainEqual({
      id: userId,
      username: 'rel.manager@example.com',
      roles: [{ name: 'Release manager' }],
      permissions: ['FIRMWARE_READ', 'OTA_READ', 'OTA_CREATE'],
      hasPassword: true,
      disabled: false,
    });
  });

  it('refuses a second user with the same username in any case, and a duplicate role name', async () => {
    await createUser('duplicate-me', []);
    const again = await t.gql(`mutation { createUser(input: { username: "Duplicate-Me" }) { __typename ... on AlreadyExistsError { field value } } }`);
    expect(again.data.createUser).toEqual({ __typename: 'AlreadyExistsError', field: 'username', value: 'duplicate-me' });
    await createRole('Twice', []);
    const role = await t.gql(`mutation { createRole(input: { name: "Twice", permissions: [] }) { __typename } }`);
    expect(role.data.createRole.__typename).toBe('AlreadyExistsError');
  });

  it('refuses bad input with typed errors and creates nothing', async () => {
    const bad = await t.gql(
      `mutation { createUser(input: { username: "-x", password: "short" }) { __typename ... on InvalidInputError { issues { path } } } }`,
    );
    expect(bad.data.createUser.issues.map((i: { path: string[] }) => i.path.join('.'))).toEqual(['input.username', 'input.password']);
    const unknownRole = await t.gql(`mutation($roles: [ID!]) { createUser(input: { username: "ghost-role", roleIds: $roles }) { __typename } }`, {
      roles: [encodeGlobalID('Role', '00000000-0000-4000-8000-000000000000')],
    });
    expect(unknownRole.data.createUser.__typename).toBe('NotFoundError');
    expect(((await t.gql('{ users { username } }')).data.users as { username: string }[]).map((u) => u.username)).not.toContain('ghost-role');
  });

  it("changing a role changes its holders' permissions, and their tokens', at once", async () => {
    const role = await createRole('Changing', ['OTA_READ', 'FIRMWARE_READ']);
    const user = await t.createUser({ permissions: [] });
    await t.gql(`mutation($input: SetUserRolesInput!) { setUserRoles(input: $input) { __typename } }`, {
      input: { userId: encodeGlobalID('User', user.userId), roleIds: [role, encodeGlobalID('Role', user.roleId)] },
    });
    expect((await user.gql('{ me { permissions } }')).data.me.permissions).toEqual(['FIRMWARE_READ', 'OTA_READ']);
    await t.gql(`mutation($id: ID!) { updateRole(input: { roleId: $id, permissions: [OTA_READ] }) { __typename } }`, { id: role });
    const after = await user.gql('{ me { permissions } firmwares { totalCount } }');
    expect(after.data).toBeNull();
    expect(after.errors?.[0].extensions).toEqual({ code: 'FORBIDDEN', permission: 'FIRMWARE_READ' });
    await t.gql(`mutation($id: ID!) { deleteRole(id: $id) { __typename } }`, { id: role });
    expect((await user.gql('{ me { permissions } }')).data.me.permissions).toEqual([]);
  });

  it('a user reads their own account and roles, but not a colleague (FORBIDDEN naming OU_ADMIN)', async () => {
    const user = await t.createUser({ permissions: ['OTA_READ'] });
    const colleague = await t.createUser({ permissions: ['OTA_READ'] });
    const own = await user.gql(`query($id: ID!) { node(id: $id) { ... on User { username roles { name permissions } } } }`, {
      id: encodeGlobalID('User', user.userId),
    });
    expect(own.data.node).toEqual({ username: user.username, roles: [{ name: `role of ${user.username}`, permissions: ['OTA_READ'] }] });
    const other = await user.gql(`query($id: ID!) { node(id: $id) { ... on User { username } } }`, { id: encodeGlobalID('User', colleague.userId) });
    expect(other.errors?.[0].extensions).toEqual({ code: 'FORBIDDEN', permission: 'OU_ADMIN' });
    expect(JSON.stringify(other)).not.toContain(colleague.username);
  });

  it('disabling a user ends every credential of theirs for good; enabling lets them sign in again', async () => {
    const user = await t.createUser({ username: 'leaver', password: PASSWORD, permissions: ['OTA_READ'] });
    const { session } = await signIn(t.server.graphqlUrl, { username: 'leaver', password: PASSWORD });
    const setDisabled = (disabled: boolean) =>
      t.gql(
        `mutation($id: ID!, $disabled: Boolean!) { updateUser(input: { userId: $id, disabled: $disabled }) { __typename ... on MutationUpdateUserSuccess { data { disabled } } } }`,
        {
          id: encodeGlobalID('User', user.userId),
          disabled,
        },
      );
    expect((await setDisabled(true)).data.updateUser.data).toEqual({ disabled: true });
    expect((await user.gql('{ jobs { totalCount } }')).errors?.[0].message).toMatch(/^The token was revoked/);
    expect((await signIn(t.server.graphqlUrl, { username: 'leaver', password: PASSWORD })).result.__typename).toBe('SignInFailedError');
    expect((await setDisabled(false)).data.updateUser.data).toEqual({ disabled: false });
    expect((await user.gql('{ jobs { totalCount } }')).errors?.[0].extensions?.code, 'revoked tokens stay revoked').toBe('UNAUTHENTICATED');
    const again = await signIn(t.server.graphqlUrl, { username: 'leaver', password: PASSWORD });
    expect(again.result.__typename).toBe('MutationSignInSuccess');
    expect(again.session).not.toBe(session);
  });

  it('setting a password ends the user’s sessions but not their API tokens', async () => {
    const user = await t.createUser({ username: 'forgetful', password: PASSWORD, permissions: ['OTA_READ'] });
    const { session } = await signIn(t.server.graphqlUrl, { username: 'forgetful', password: PASSWORD });
    const answer = await t.gql(`mutation($id: ID!) { setUserPassword(input: { userId: $id, password: "a new password 2" }) { __typename } }`, {
      id: encodeGlobalID('User', user.userId),
    });
    expect(answer.data.setUserPassword.__typename).toBe('MutationSetUserPasswordSuccess');
    const me = await fetch(t.server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `updraft_session=${session}` },
      body: JSON.stringify({ query: '{ me { user { username } } }' }),
    });
    expect((await me.json()).data.me).toBeNull();
    expect((await user.gql('{ me { user { username } } }')).data.me.user.username).toBe('forgetful');
    expect((await signIn(t.server.graphqlUrl, { username: 'forgetful', password: 'a new password 2' })).result.__typename).toBe('MutationSignInSuccess');
  });
});

describe('the unit keeps an administrator', () => {
  it('refuses to disable yourself, to take OU_ADMIN from the last administrator, or to delete their role', async () => {
    const me = (await t.gql('{ me { user { id roles { id } } } }')).data.me.user;
    const adminRole = me.roles[0].id;
    const self = await t.gql(
      `mutation($id: ID!) { updateUser(input: { userId: $id, disabled: true }) { __typename ... on InvalidInputError { issues { path message } } } }`,
      { id: me.id },
    );
    expect(self.data.updateUser).toEqual({
      __typename: 'InvalidInputError',
      issues: [{ path: ['input', 'disabled'], message: 'you cannot disable yourself' }],
    });

    const demote = await t.gql(`mutation($id: ID!) { updateRole(input: { roleId: $id, permissions: [OTA_READ] }) { __typename ... on Error { message } } }`, {
      id: adminRole,
    });
    expect(demote.data.updateRole.__typename).toBe('LastAdministratorError');
    const unassign = await t.gql(`mutation($id: ID!) { setUserRoles(input: { userId: $id, roleIds: [] }) { __typename } }`, { id: me.id });
    expect(unassign.data.setUserRoles.__typename).toBe('LastAdministratorError');
    const remove = await t.gql(`mutation($id: ID!) { deleteRole(id: $id) { __typename } }`, { id: adminRole });
    expect(remove.data.deleteRole.__typename).toBe('LastAdministratorError');
    expect((await t.gql('{ me { permissions } }')).data.me.permissions).toContain('OU_ADMIN');

    // With a second administrator, the first can step down.
    const deputy = await t.createUser({ permissions: ['OU_ADMIN'] });
    const stepDown = await t.gql(`mutation($id: ID!) { setUserRoles(input: { userId: $id, roleIds: [] }) { __typename } }`, { id: me.id });
    expect(stepDown.data.setUserRoles.__typename).toBe('MutationSetUserRolesSuccess');
    const restore = await deputy.gql(`mutation($id: ID!, $role: ID!) { setUserRoles(input: { userId: $id, roleIds: [$role] }) { __typename } }`, {
      id: me.id,
      role: adminRole,
    });
    expect(restore.data.setUserRoles.__typename).toBe('MutationSetUserRolesSuccess');
  });
});

describe('API tokens', () => {
  it('carry only permissions their owner has and the caller acts with; a limited token mints no broader one', async () => {
    const user = await t.createUser({ permissions: ['OTA_READ', 'FIRMWARE_READ'] });
    const excess = await createToken(user.gql, ['OTA_READ', 'OTA_CONTROL']);
    expect(excess.data.createApiToken.issues).toEqual([
      { path: ['input', 'permissions'], message: 'a token can only carry permissions its owner has and you act with now; not OTA_CONTROL' },
    ]);

    const created = await createToken(user.gql, ['OTA_READ']);
    const limited = created.data.createApiToken.data;
    expect(limited.apiToken).toMatchObject({ name: 'integration', permissions: ['OTA_READ'], active: true, owner: { username: user.username } });
    expect(limited.token).toMatch(/^updraft_[A-Za-z0-9_-]{43}$/);
    const asLimited = asToken(limited.token);
    expect((await asLimited('{ jobs { totalCount } }')).data).toEqual({ jobs: { totalCount: 0 } });
    expect((await asLimited('{ firmwares { totalCount } }')).errors?.[0].extensions).toEqual({ code: 'FORBIDDEN', permission: 'FIRMWARE_READ' });
    const escalation = await createToken(asLimited, ['FIRMWARE_READ']);
    expect(escalation.data.createApiToken.__typename).toBe('InvalidInputError');
  });

  it("act with their own permissions within their user's current ones", async () => {
    const user = await t.createUser({ permissions: ['OTA_READ', 'FIRMWARE_READ'], tokenPermissions: ['FIRMWARE_READ', 'OTA_READ'] });
    await t.gql(`mutation($id: ID!) { updateRole(input: { roleId: $id, permissions: [OTA_READ, DEVICE_READ] }) { __typename } }`, {
      id: encodeGlobalID('Role', user.roleId),
    });
    // DEVICE_READ is the user's now, but not the token's; FIRMWARE_READ is the token's, but not the user's any more.
    expect((await user.gql('{ me { permissions } }')).data.me.permissions).toEqual(['OTA_READ']);
  });

  it('a user lists and revokes their own tokens; only OU_ADMIN those of others', async () => {
    const owner = await t.createUser({ permissions: ['OTA_READ'] });
    const stranger = await t.createUser({ permissions: ['OTA_READ'] });
    const list = await owner.gql('{ apiTokens { id name } }');
    expect(list.data.apiTokens).toEqual([{ id: encodeGlobalID('ApiToken', owner.tokenId), name: `token of ${owner.username}` }]);

    const foreignList = await stranger.gql(`query($id: ID!) { apiTokens(userId: $id) { id } }`, { id: encodeGlobalID('User', owner.userId) });
    expect(foreignList.errors?.[0].extensions).toEqual({ code: 'FORBIDDEN', permission: 'OU_ADMIN' });
    const foreignRevoke = await stranger.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { __typename } }`, {
      id: encodeGlobalID('ApiToken', owner.tokenId),
    });
    expect(foreignRevoke.errors?.[0].extensions).toEqual({ code: 'FORBIDDEN', permission: 'OU_ADMIN' });
    expect((await owner.gql('{ me { user { username } } }')).data.me).not.toBeNull();

    const adminList = await t.gql(`query($id: ID!) { apiTokens(userId: $id) { id } }`, { id: encodeGlobalID('User', owner.userId) });
    expect(adminList.data.apiTokens).toHaveLength(1);
    const revoked = await owner.gql(
      `mutation($id: ID!) { revokeApiToken(id: $id) { __typename ... on MutationRevokeApiTokenSuccess { data { active revokedAt } } } }`,
      {
        id: encodeGlobalID('ApiToken', owner.tokenId),
      },
    );
    expect(revoked.data.revokeApiToken.data.active).toBe(false);
    expect((await t.gql(`query($id: ID!) { apiTokens(userId: $id) { id } }`, { id: encodeGlobalID('User', owner.userId) })).data.apiTokens).toEqual([]);
    expect(
      (await t.gql(`query($id: ID!) { apiTokens(userId: $id, includeInactive: true) { active } }`, { id: encodeGlobalID('User', owner.userId) })).data
        .apiTokens,
    ).toEqual([{ active: false }]);
  });

  it('an administrator creates a token for a service user of the unit', async () => {
    const roleId = await createRole('CI', ['FIRMWARE_READ', 'FIRMWARE_WRITE']);
    const ci = await createUser('ci-bot', [roleId]);
    const created = await createToken(t.gql, ['FIRMWARE_WRITE'], ci);
    expect(created.data.createApiToken.data.apiToken.owner).toEqual({ username: 'ci-bot' });
    const me = await asToken(created.data.createApiToken.data.token)('{ me { user { username } permissions } }');
    expect(me.data.me).toEqual({ user: { username: 'ci-bot' }, permissions: ['FIRMWARE_WRITE'] });
  });

  it('refuses an expiry in the past', async () => {
    const answer = await t.gql(
      `mutation { createApiToken(input: { name: "late", permissions: [OTA_READ], expiresAt: "2020-01-01T00:00:00Z" }) { __typename ... on InvalidInputError { issues { path message } } } }`,
    );
    expect(answer.data.createApiToken.issues).toEqual([{ path: ['input', 'expiresAt'], message: 'must be in the future' }]);
  });
});
