/**
 * The audit log: every change an operator makes leaves one row (who, when, what, from where) in the
 * change's own transaction — a refused change leaves none; the log is read by OU_ADMIN of the unit
 * only, with filters and cursor pages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpgradeJob, expectSuccess, seedProduct, setTaskStates, uploadFirmware } from '../support/fixtures.js';
import { type Gql, startTestServer, type TestServer } from '../support/server.js';
import { cookieHeader, post, signIn } from '../auth/browser.js';

let t: TestServer;
let jobId: string;
let firmwareId: string;
let spareFirmwareId: string;

const AUDIT = `query($first: Int, $after: String, $actions: [AuditAction!], $targetId: ID, $actorId: ID, $search: String, $since: DateTime, $until: DateTime) {
  auditEvents(first: $first, after: $after, actions: $actions, targetId: $targetId, actorId: $actorId, search: $search, since: $since, until: $until) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id at action actionText actorName actor { username } targetType targetId targetName summary details clientAddress credentialKind credentialName } }
  }
}`;

type AuditNode = {
  action: string;
  actorName: string;
  actor: { username: string } | null;
  targetType: string | null;
  targetId: string | null;
  targetName: string | null;
  summary: string;
  details: string | null;
  clientAddress: string | null;
  credentialKind: string | null;
  credentialName: string | null;
  at: string;
};

async function audit(variables: Record<string, unknown> = {}, as: Gql = t.gql) {
  const answer = await as(AUDIT, { first: 100, ...variables });
  return answer;
}

async function nodes(variables: Record<string, unknown> = {}): Promise<AuditNode[]> {
  const answer = await audit(variables);
  expect(answer.errors).toBeUndefined();
  return answer.data.auditEvents.edges.map((e: { node: AuditNode }) => e.node);
}

const ok = (answer: { data?: Record<string, any>; errors?: unknown[] }, field: string) => expectSuccess<any>(answer, field);

beforeAll(async () => {
  t = await startTestServer();
  await seedProduct(t, 'meter', 6);
  firmwareId = (await uploadFirmware(t, { productKey: 'meter', name: 'meter-fw', version: '2.0.0' })).id;
  spareFirmwareId = (await uploadFirmware(t, { productKey: 'meter', name: 'meter-spare', version: '2.0.1' })).id;
  jobId = await createUpgradeJob(t, { firmwareId, name: 'Night rollout', scope: { allDevices: true } });
});
afterAll(async () => {
  await t?.close();
});

describe('what is recorded', () => {
  it('records job, device and firmware changes with who, when, what and from where', async () => {
    ok(
      await t.gql(
        `mutation($input: EditJobInput!) { editJob(input: $input) { __typename ... on MutationEditJobSuccess { data { changedFields } } ... on Error { message } } }`,
        {
          input: { jobId, timeoutMinutes: 60 },
        },
      ),
      'editJob',
    );
    ok(
      await t.gql(`mutation($id: ID!) { stopJob(id: $id) { __typename ... on MutationStopJobSuccess { data { status } } ... on Error { message } } }`, {
        id: jobId,
      }),
      'stopJob',
    );
    ok(
      await t.gql(`mutation($id: ID!) { startJob(id: $id) { __typename ... on MutationStartJobSuccess { data { status } } ... on Error { message } } }`, {
        id: jobId,
      }),
      'startJob',
    );
    const cancel = await t.gql(
      `mutation($input: CancelUpgradeInput!) { cancelUpgrade(input: $input) { __typename ... on MutationCancelUpgradeSuccess { data { notCancelled { deviceKey } } } ... on Error { message } } }`,
      { input: { jobId, deviceKeys: ['dev-0001', 'dev-0002', 'no-such-device'] } },
    );
    expect(cancel.data.cancelUpgrade.__typename).toBe('MutationCancelUpgradeSuccess');
    await setTaskStates(t, jobId, { 'dev-0003': { status: 'FAILED', reason: 'TIMEOUT' } });
    const retry = await t.gql(
      `mutation($input: RetryUpgradeInput!) { retryUpgrade(input: $input) { __typename ... on MutationRetryUpgradeSuccess { data { notRetried { deviceKey } } } ... on Error { message } } }`,
      { input: { jobId, failureReason: 'TIMEOUT' } },
    );
    expect(retry.data.retryUpgrade.__typename).toBe('MutationRetryUpgradeSuccess');
    ok(
      await t.gql(`mutation($id: ID!) { cancelJob(id: $id) { __typename ... on MutationCancelJobSuccess { data { status } } ... on Error { message } } }`, {
        id: jobId,
      }),
      'cancelJob',
    );
    ok(
      await t.gql(
        `mutation($id: ID!) { deleteFirmware(id: $id) { __typename ... on MutationDeleteFirmwareSuccess { data { id } } ... on Error { message } } }`,
        { id: spareFirmwareId },
      ),
      'deleteFirmware',
    );

    const events = await nodes();
    // Newest first.
    expect(events.map((e) => e.action)).toEqual([
      'FIRMWARE_DELETED',
      'JOB_CANCELLED',
      'DEVICES_RETRIED',
      'DEVICES_CANCELLED',
      'JOB_STARTED',
      'JOB_STOPPED',
      'JOB_EDITED',
      'JOB_CREATED',
      'FIRMWARE_UPLOADED',
      'FIRMWARE_UPLOADED',
      'DEVICES_REGISTERED',
      'PRODUCT_CREATED',
    ]);
    const times = events.map((e) => Date.parse(e.at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    for (const event of events) {
      expect(event).toMatchObject({ actorName: 'Administrator', actor: { username: 'admin' }, credentialKind: 'API_TOKEN' });
      expect(event.clientAddress).toMatch(/127\.0\.0\.1/);
      expect(event.credentialName).toBeTruthy();
    }
    const byAction = (action: string) => events.find((e) => e.action === action)!;
    expect(byAction('JOB_EDITED')).toMatchObject({ targetType: 'JOB', targetId: jobId, targetName: 'Night rollout', summary: 'Timeout changed' });
    expect(JSON.parse(byAction('JOB_EDITED').details!).changes).toEqual([{ field: 'timeoutMinutes', from: 120, to: 60 }]);
    expect(byAction('DEVICES_CANCELLED').summary).toBe('2 devices cancelled, 1 device not');
    expect(JSON.parse(byAction('DEVICES_CANCELLED').details!)).toMatchObject({ count: 2, deviceKeys: ['dev-0001', 'dev-0002'], notActedOn: 1 });
    expect(byAction('DEVICES_RETRIED').summary).toBe('1 device retried (Upgrade timeout)');
    expect(byAction('JOB_CANCELLED').summary).toMatch(/^Job "Night rollout" cancelled; [1-9] devices? cancelled$/);
    expect(byAction('FIRMWARE_DELETED')).toMatchObject({ targetType: 'FIRMWARE', targetId: spareFirmwareId, targetName: 'meter-spare 2.0.1' });
  });

  it('a refused change leaves no row', async () => {
    await createUpgradeJob(t, { firmwareId, name: 'Keeps the firmware in use', scope: { allDevices: true } });
    const before = (await audit()).data.auditEvents.totalCount;
    // Firmware in use by a job cannot be deleted; a cancelled job cannot be started; a role needs a name.
    const del = await t.gql(`mutation($id: ID!) { deleteFirmware(id: $id) { __typename } }`, { id: firmwareId });
    expect(del.data.deleteFirmware.__typename).toBe('FirmwareInUseError');
    const start = await t.gql(`mutation($id: ID!) { startJob(id: $id) { __typename } }`, { id: jobId });
    expect(start.data.startJob.__typename).toBe('InvalidJobStateError');
    const role = await t.gql(`mutation { createRole(input: { name: "", permissions: [] }) { __typename } }`);
    expect(role.data.createRole.__typename).toBe('InvalidInputError');
    expect((await audit()).data.auditEvents.totalCount).toBe(before);
  });

  it('records users, roles, tokens and sign-ins, never a secret', async () => {
    const role = ok(
      await t.gql(
        `mutation { createRole(input: { name: "Viewer", permissions: [OTA_READ] }) { __typename ... on MutationCreateRoleSuccess { data { id } } ... on Error { message } } }`,
      ),
      'createRole',
    );
    const user = ok(
      await t.gql(
        `mutation($input: CreateUserInput!) { createUser(input: $input) { __typename ... on MutationCreateUserSuccess { data { id } } ... on Error { message } } }`,
        { input: { username: 'night.operator', password: 'a long enough password', roleIds: [role.id] } },
      ),
      'createUser',
    );
    ok(
      await t.gql(
        `mutation($id: ID!) { updateRole(input: { roleId: $id, permissions: [OTA_READ, FIRMWARE_READ] }) { __typename ... on MutationUpdateRoleSuccess { data { id } } ... on Error { message } } }`,
        {
          id: role.id,
        },
      ),
      'updateRole',
    );
    const token = ok(
      await t.gql(
        `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { __typename ... on MutationCreateApiTokenSuccess { data { token apiToken { id } } } ... on Error { message } } }`,
        { input: { name: 'ci pipeline', permissions: ['OTA_READ'] } },
      ),
      'createApiToken',
    );
    ok(
      await t.gql(
        `mutation($id: ID!) { revokeApiToken(id: $id) { __typename ... on MutationRevokeApiTokenSuccess { data { id } } ... on Error { message } } }`,
        { id: token.apiToken.id },
      ),
      'revokeApiToken',
    );

    const wrong = await signIn(t.server.graphqlUrl, { username: 'night.operator', password: 'not the password' });
    expect(wrong.result.__typename).toBe('SignInFailedError');
    const unknown = await signIn(t.server.graphqlUrl, { username: 'nobody-here', password: 'not the password' });
    expect(unknown.result.__typename).toBe('SignInFailedError');
    const good = await signIn(t.server.graphqlUrl, { username: 'night.operator', password: 'a long enough password' });
    expect(good.session).toBeTruthy();
    const out = await post(t.server.graphqlUrl, 'mutation { signOut }', {}, { ...cookieHeader(good.session!), 'x-graphql-yoga-csrf': '1' });
    expect(out.data?.signOut).toBe(true);

    const events = await nodes({
      actions: ['ROLE_CREATED', 'ROLE_UPDATED', 'USER_CREATED', 'TOKEN_CREATED', 'TOKEN_REVOKED', 'SIGNED_IN', 'SIGN_IN_FAILED', 'SIGNED_OUT'],
    });
    expect(events.map((e) => e.action)).toEqual([
      'SIGNED_OUT',
      'SIGNED_IN',
      'SIGN_IN_FAILED',
      'TOKEN_REVOKED',
      'TOKEN_CREATED',
      'ROLE_UPDATED',
      'USER_CREATED',
      'ROLE_CREATED',
    ]);
    const [signedOut, signedIn, failed, revoked, created, roleUpdated] = events;
    expect(signedIn).toMatchObject({ actorName: 'night.operator', targetId: user.id, credentialKind: 'SESSION', summary: 'Signed in with a password' });
    expect(signedOut).toMatchObject({ actorName: 'night.operator', credentialKind: 'SESSION' });
    expect(failed).toMatchObject({ actorName: 'night.operator', summary: 'Sign-in failed: wrong password', credentialKind: null });
    expect(failed.clientAddress).toMatch(/127\.0\.0\.1/);
    expect(created.summary).toMatch(/^API token "ci pipeline" created: OTA_READ, no expiry$/);
    expect(revoked).toMatchObject({ targetId: token.apiToken.id, summary: 'API token "ci pipeline" revoked' });
    expect(roleUpdated.summary).toBe('Role Viewer: +FIRMWARE_READ');
    const everything = JSON.stringify(await nodes());
    expect(everything).not.toContain(token.token);
    expect(everything).not.toContain('a long enough password');
  });
});

describe('reading the log', () => {
  it('filters by action, target, actor, words and time, and pages with a cursor', async () => {
    const all = await nodes();
    const forJob = await nodes({ targetId: jobId });
    expect(forJob.length).toBeGreaterThan(5);
    expect(forJob.every((e) => e.targetId === jobId)).toBe(true);
    expect((await nodes({ search: 'NIGHT ROLL' })).every((e) => e.targetName === 'Night rollout')).toBe(true);
    expect((await nodes({ search: '50%_' })).length).toBe(0);
    const newest = Date.parse(all[0].at);
    expect((await nodes({ since: new Date(newest + 1000).toISOString() })).length).toBe(0);
    expect((await nodes({ until: new Date(Date.parse(all[all.length - 1].at)).toISOString() })).length).toBe(0);

    const pages: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 50; i++) {
      const answer = await audit({ first: 4, after });
      const page = answer.data.auditEvents;
      expect(page.totalCount).toBe(all.length);
      pages.push(...page.edges.map((e: { node: { id: string } }) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    const allIds = (await audit()).data.auditEvents.edges.map((e: { node: { id: string } }) => e.node.id);
    expect(pages).toEqual(allIds);
  });

  it('refuses a reversed time range and an oversized search with a typed error', async () => {
    const reversed = await audit({ since: '2026-12-02T10:00:00Z', until: '2026-12-01T10:00:00Z' });
    expect(reversed.errors?.[0]).toMatchObject({ extensions: { code: 'INVALID_INPUT' } });
    const long = await audit({ search: 'x'.repeat(201) });
    expect(long.errors?.[0]).toMatchObject({ extensions: { code: 'INVALID_INPUT' } });
  });

  it('is for OU_ADMIN of the unit only', async () => {
    const operator = await t.createUser({ permissions: ['OTA_READ', 'OTA_CONTROL', 'FIRMWARE_READ'] });
    const denied = await audit({}, operator.gql);
    expect(denied.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(denied.data?.auditEvents ?? null).toBeNull();

    const otherAdmin = await t.createUser({ permissions: ['OU_ADMIN'], ouName: 'Other unit' });
    const other = await audit({}, otherAdmin.gql);
    expect(other.errors).toBeUndefined();
    // Only its own unit's rows (its role and user, made by the test's setup), none of this unit's.
    expect(other.data.auditEvents.edges.map((e: { node: AuditNode }) => e.node.actorName)).toEqual(['test setup', 'test setup']);
    // Another unit's job by its ID: nothing.
    expect((await audit({ targetId: jobId }, otherAdmin.gql)).data.auditEvents.totalCount).toBe(0);
    // Nor through node().
    const [own] = (await audit({ first: 1 })).data.auditEvents.edges;
    const query = `query($id: ID!) { node(id: $id) { id ... on AuditEvent { summary } } }`;
    expect((await t.gql(query, { id: own.node.id })).data.node).toMatchObject({ id: own.node.id });
    expect((await otherAdmin.gql(query, { id: own.node.id })).data?.node ?? null).toBeNull();
  });
});
