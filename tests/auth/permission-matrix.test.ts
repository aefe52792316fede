/**
 * The permission matrix, generated from the schema itself: every Query, Mutation and Subscription
 * field (new ones included, without editing this file) is called
 *   1. without credentials: UNAUTHENTICATED, and no data;
 *   2. with a token that has every permission except the field's: FORBIDDEN naming the permission;
 *   3. by an administrator of another organisation unit, with the IDs, keys and names of real data
 *      of unit A as arguments: the answer contains nothing of A that the request did not already
 *      contain, and afterwards A's data is exactly as it was.
 * The permission a field needs is read from its scope-auth declaration; a field that declares none
 * must be one of the few that are deliberately public.
 */
import { randomUUID } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { PERMISSIONS, type Permission } from '@updraft/server/db/schema.js';
import { schema } from '@updraft/server/schema/index.js';
import type { GraphQLField, GraphQLObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProduct, createUpgradeJob, createVerificationJob, expectSuccess, rawId, registerDevices, uploadFirmware } from '../support/fixtures.js';
import { bearer, startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { subscribe } from '../support/subscriptions.js';
import { type ArgumentHints, type Operation, operationFor, type RootKind, sendOperation } from './operations.js';

type Field = GraphQLField<unknown, unknown>;
type Requirement = { kind: 'public' } | { kind: 'authenticated' } | { kind: 'permission'; anyOf: Permission[] };

/** Open to anonymous callers on purpose, each with what it answers them (tested below). */
const PUBLIC_FIELDS = new Set(['Query.me', 'Query.passwordSignInAvailable', 'Mutation.signIn', 'Mutation.signOut']);

const ROOTS: [RootKind, GraphQLObjectType][] = [
  ['query', schema.getQueryType()!],
  ['mutation', schema.getMutationType()!],
  ['subscription', schema.getSubscriptionType()!],
];
const FIELDS = ROOTS.flatMap(([kind, type]) => Object.values(type.getFields()).map((field) => ({ kind, field, name: `${type.name}.${field.name}` })));

function requirementOf(field: Field): Requirement {
  const scopes = (field.extensions as { pothosOptions?: { authScopes?: Record<string, unknown> } }).pothosOptions?.authScopes;
  if (!scopes) return { kind: 'public' };
  if (typeof scopes.permission === 'string') return { kind: 'permission', anyOf: [scopes.permission as Permission] };
  if (Array.isArray(scopes.anyPermission)) return { kind: 'permission', anyOf: scopes.anyPermission as Permission[] };
  if (scopes.authenticated === true) return { kind: 'authenticated' };
  throw new Error(`unrecognised authScopes ${JSON.stringify(scopes)}`);
}

const randomIds: ArgumentHints = { id: encodeGlobalID('OtaJob', randomUUID()), strings: {}, optional: false };

interface Answer {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

let t: TestServer;

/**
 * Runs a root field's operation over HTTP, or over graphql-ws for subscriptions, up to the first
 * event. A subscription that may rightly stay silent is given `quiet`: something to do in the
 * meantime that would make it send (a change to the other unit's data), and how long to listen.
 */
async function call(kind: RootKind, operation: Operation, token: string | null, quiet?: { poke: () => Promise<void>; listenMs: number }): Promise<Answer> {
  if (kind !== 'subscription') return sendOperation(t.server.graphqlUrl, operation, token ? bearer(token) : {});
  const subscription = subscribe({
    url: t.server.wsUrl,
    query: operation.query,
    variables: operation.variables,
    connectionParams: token ? t.connectionParams(token) : undefined,
  });
  try {
    const first = subscription.next(quiet ? quiet.listenMs : undefined);
    if (quiet) await quiet.poke();
    const event = await (quiet ? first.catch(() => null) : first);
    if (!event) return {};
    if (event.kind === 'next') return { data: event.data, errors: event.errors };
    if (event.kind === 'error') return { errors: event.errors ?? [{ message: `closed ${event.code} ${event.reason}` }] };
    return {};
  } finally {
    await subscription.dispose();
  }
}

const fieldError = (answer: Answer, field: Field) => answer.errors?.find((e) => !e.path || e.path[0] === field.name);
const fieldData = (answer: Answer, field: Field) => answer.data?.[field.name] ?? null;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

it('every root field declares who may call it, except the deliberately public ones', () => {
  const undeclared = FIELDS.filter(({ field, name }) => requirementOf(field).kind === 'public' && !PUBLIC_FIELDS.has(name)).map((f) => f.name);
  expect(undeclared).toEqual([]);
  for (const name of PUBLIC_FIELDS)
    expect(
      FIELDS.some((f) => f.name === name),
      `${name} exists`,
    ).toBe(true);
});

describe('without credentials', () => {
  for (const { kind, field, name } of FIELDS.filter((f) => !PUBLIC_FIELDS.has(f.name))) {
    it(`${name} answers UNAUTHENTICATED and no data`, async () => {
      const answer = await call(kind, operationFor(schema, kind, field, randomIds), null);
      expect(fieldError(answer, field)?.extensions?.code, JSON.stringify(answer)).toBe('UNAUTHENTICATED');
      expect(fieldData(answer, field)).toBeNull();
    });
  }

  it('Query.me answers null', async () => {
    expect(await t.gql('{ me { user { id } } }', {}, { authorization: '' })).toEqual({ data: { me: null } });
  });

  it('Query.passwordSignInAvailable answers whether anyone has a password, and nothing else', async () => {
    // The administrator was bootstrapped with a token only.
    expect(await t.gql('{ passwordSignInAvailable }', {}, { authorization: '' })).toEqual({ data: { passwordSignInAvailable: false } });
    await t.createUser({ permissions: [], password: 'a password of some length' });
    expect(await t.gql('{ passwordSignInAvailable }', {}, { authorization: '' })).toEqual({ data: { passwordSignInAvailable: true } });
  });

  it('Mutation.signOut answers false', async () => {
    expect(await t.gql('mutation { signOut }', {}, { authorization: '' })).toEqual({ data: { signOut: false } });
  });

  it('Mutation.signIn checks the credentials and answers a typed error for wrong ones', async () => {
    const answer = await t.gql(
      `mutation($input: SignInInput!) { signIn(input: $input) { __typename ... on Error { code } } }`,
      { input: { username: 'admin', password: 'not the password' } },
      { authorization: '' },
    );
    expect(answer.data.signIn).toEqual({ __typename: 'SignInFailedError', code: 'SIGN_IN_FAILED' });
  });
});

describe('with a token lacking the permission', () => {
  const lacking = new Map<string, Promise<TestUser>>();
  /** A user of the same unit with every permission except these (created once per set). */
  const userWithout = (missing: Permission[]) => {
    const key = [...missing].sort().join(',');
    if (!lacking.has(key)) lacking.set(key, t.createUser({ permissions: PERMISSIONS.filter((p) => !missing.includes(p)) }));
    return lacking.get(key)!;
  };

  for (const { kind, field, name } of FIELDS) {
    const requirement = requirementOf(field);
    if (requirement.kind === 'permission') {
      it(`${name} answers FORBIDDEN naming ${requirement.anyOf.join(' or ')}`, async () => {
        const user = await userWithout(requirement.anyOf);
        const answer = await call(kind, operationFor(schema, kind, field, randomIds), user.token);
        const error = fieldError(answer, field);
        expect(error?.extensions?.code, JSON.stringify(answer)).toBe('FORBIDDEN');
        expect(requirement.anyOf).toContain(error?.extensions?.permission);
        expect(error?.message).toBe(`You lack the ${error?.extensions?.permission} permission. Ask your organisation unit's administrator to grant it to you.`);
        expect(fieldData(answer, field)).toBeNull();
      });
    } else if (requirement.kind === 'authenticated') {
      it(`${name} needs no permission: a user without any is not refused`, async () => {
        const user = await userWithout([...PERMISSIONS]);
        const answer = await call(kind, operationFor(schema, kind, field, randomIds), user.token);
        expect(['UNAUTHENTICATED', 'FORBIDDEN'], JSON.stringify(answer)).not.toContain(fieldError(answer, field)?.extensions?.code);
      });
    }
  }
});

describe('from another organisation unit', () => {
  /** Everything of unit A that unit B must never see: IDs (global and raw), keys, names, secrets. */
  const markers: string[] = [];
  const candidateIds: string[] = [];
  const strings: Record<string, string> = {};
  let other: TestUser;
  let before: unknown;

  /** What an administrator of A sees of A, minus what changes by itself (timestamps, last use). */
  async function snapshotOfA() {
    const answer = await t.gql(`{
      products { id productKey name description deviceCount }
      devices(first: 100) { totalCount nodes { id deviceKey name firmwareVersion tags { key value } } }
      firmwares(first: 100) { totalCount nodes { id name version description verified deleted } }
      jobs(first: 100) { totalCount nodes { id name type status timeoutMinutes maxConcurrency srcVersions deviceCount
        scope { allDevices deviceKeys srcVersions tags { key value } } statusCounts { toBePushed pushed inProgress succeeded failed } } }
      users { id username displayName disabled hasPassword roles { id } apiTokens(includeInactive: true) { id name active permissions } }
      roles { id name description permissions }
    }`);
    expect(answer.errors).toBeUndefined();
    return answer.data;
  }

  beforeAll(async () => {
    const productKey = 'ou-a-meter';
    await createProduct(t, productKey);
    const secrets = await registerDevices(t, productKey, [
      { deviceKey: 'ou-a-device-1', firmwareVersion: '1.0.0-ou-a' },
      { deviceKey: 'ou-a-device-2', firmwareVersion: '1.0.0-ou-a' },
    ]);
    const firmware = await uploadFirmware(t, { productKey, name: 'ou-a-firmware', version: '7.7.7-ou-a' });
    const verification = await createVerificationJob(t, { firmwareId: firmware.id, name: 'ou-a-verify-job', deviceKeys: ['ou-a-device-1'] });
    const upgrade = await createUpgradeJob(t, { firmwareId: firmware.id, name: 'ou-a-upgrade-job', scope: { allDevices: true } });
    const role = expectSuccess<{ id: string }>(
      await t.gql(
        `mutation { createRole(input: { name: "ou-a-role", permissions: [OTA_READ] }) { __typename ... on MutationCreateRoleSuccess { data { id } } } }`,
      ),
      'createRole',
    );
    const user = expectSuccess<{ id: string }>(
      await t.gql(
        `mutation($roles: [ID!]) { createUser(input: { username: "ou-a-operator", displayName: "OU A operator", password: "ou-a-password-1", roleIds: $roles }) {
          __typename ... on MutationCreateUserSuccess { data { id } } } }`,
        { roles: [role.id] },
      ),
      'createUser',
    );
    const token = expectSuccess<{ token: string; apiToken: { id: string } }>(
      await t.gql(
        `mutation($user: ID!) { createApiToken(input: { name: "ou-a-token", permissions: [OTA_READ], userId: $user }) {
          __typename ... on MutationCreateApiTokenSuccess { data { token apiToken { id } } } } }`,
        { user: user.id },
      ),
      'createApiToken',
    );
    const ids = (
      await t.gql(`{ me { user { id roles { id } apiTokens { id } } } products { id } devices { nodes { id } }
        job(id: "${upgrade}") { devices { nodes { id } } } }`)
    ).data;
    candidateIds.push(
      verification,
      upgrade,
      firmware.id,
      role.id,
      user.id,
      token.apiToken.id,
      ids.me.user.id,
      ...ids.me.user.roles.map((r: { id: string }) => r.id),
      ...ids.me.user.apiTokens.map((r: { id: string }) => r.id),
      ...ids.products.map((p: { id: string }) => p.id),
      ...ids.devices.nodes.map((d: { id: string }) => d.id),
      ids.job.devices.nodes[0].id,
    );
    markers.push(
      ...candidateIds,
      // Integer keys (JobDevice) are too short to be told apart from any number in an answer.
      ...candidateIds.map(rawId).filter((id) => id.length >= 8),
      productKey,
      'ou-a-device-1',
      'ou-a-device-2',
      '1.0.0-ou-a',
      'ou-a-firmware',
      '7.7.7-ou-a',
      'ou-a-verify-job',
      'ou-a-upgrade-job',
      'ou-a-role',
      'ou-a-operator',
      'OU A operator',
      'ou-a-token',
      token.token,
      t.adminToken,
      ...Object.values(secrets),
    );
    Object.assign(strings, {
      productkey: productKey,
      devicekey: 'ou-a-device-1',
      devicekeys: 'ou-a-device-1',
      username: 'ou-a-operator',
      search: 'ou-a',
      version: '7.7.7-ou-a',
      currentversion: '1.0.0-ou-a',
    });
    other = await t.createUser({ permissions: [...PERMISSIONS], ouName: 'Other unit' });
    before = await snapshotOfA();
    upgradeJobOfA = upgrade;
  });

  let upgradeJobOfA: string;
  /** A change in unit A that streams of A would report: the upgrade job stopped and started again. */
  async function changeSomethingInA() {
    for (const action of ['stopJob', 'startJob', 'stopJob', 'startJob']) {
      await t.gql(`mutation($id: ID!) { ${action}(id: $id) { __typename } }`, { id: upgradeJobOfA });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** The markers in the answer that the request did not carry itself (an echo of its own input is no leak). */
  function leaked(answer: Answer, operation: Operation): string[] {
    const sent = JSON.stringify(operation.variables);
    const sentIds = candidateIds.filter((id) => sent.includes(id)).map(rawId);
    const text = JSON.stringify(answer);
    return markers.filter((marker) => text.includes(marker) && !sent.includes(marker) && !sentIds.includes(marker));
  }

  for (const { kind, field, name } of FIELDS) {
    it(`${name} reveals nothing of unit A, whichever of A's IDs, keys and names it is given`, async () => {
      const takesId = JSON.stringify(operationFor(schema, kind, field, { id: 'ID-SLOT', strings, optional: true })).includes('ID-SLOT');
      for (const id of takesId ? candidateIds : [randomIds.id]) {
        for (const optional of [false, true]) {
          const operation = operationFor(schema, kind, field, { id, strings, optional });
          const answer = await call(kind, operation, other.token, { poke: changeSomethingInA, listenMs: 3000 });
          expect(leaked(answer, operation), `${operation.query} ${JSON.stringify(operation.variables)} → ${JSON.stringify(answer)}`).toEqual([]);
        }
      }
    });
  }

  it("node and nodes resolve A's IDs for A and to null for B", async () => {
    const query = `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`;
    const forA = await t.gql(query, { ids: candidateIds });
    expect(forA.data.nodes.map((n: { id: string } | null) => n?.id)).toEqual(candidateIds);
    expect(await other.gql(query, { ids: candidateIds })).toEqual({ data: { nodes: candidateIds.map(() => null) } });
    for (const id of candidateIds) {
      expect(await other.gql(`query($id: ID!) { node(id: $id) { id } }`, { id })).toEqual({ data: { node: null } });
    }
  });

  it("left every one of A's products, devices, firmware, jobs, users, roles and tokens as it was", async () => {
    expect(await snapshotOfA()).toEqual(before);
  });
});
