/**
 * First start: one organisation unit and its administrator, with ADMIN_TOKEN or a generated token
 * shown once; later starts keep what exists, register a new ADMIN_TOKEN, and never bring back one
 * that was revoked. Instances starting together bootstrap once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '@updraft/server/app.js';
import { loadConfig, type ServerConfig } from '@updraft/server/config.js';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { bearer } from '../support/server.js';
import { post, signIn } from './browser.js';

let database: TestDatabase;
let dataDir: string;
const running: RunningServer[] = [];

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'updraft-bootstrap-'));
  database = await createTestDatabase();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
  await database.drop();
  await rm(dataDir, { recursive: true, force: true });
});

async function start(overrides: Partial<ServerConfig> = {}): Promise<RunningServer> {
  const config = loadConfig({}, { dataDir, firmwareDir: path.join(dataDir, 'firmware'), host: '127.0.0.1', port: 0, seedDemo: false, ...overrides });
  const server = await startServer(config, database.handle);
  running.push(server);
  return server;
}

async function stop(server: RunningServer) {
  running.splice(running.indexOf(server), 1);
  await server.close();
}

const ME = '{ me { user { username } organisationUnit { name } permissions } }';
const ALL = [
  'FIRMWARE_READ',
  'FIRMWARE_WRITE',
  'FIRMWARE_DELETE',
  'OTA_READ',
  'OTA_CREATE',
  'OTA_CONTROL',
  'DEVICE_READ',
  'DEVICE_WRITE',
  'OU_ADMIN',
  'WEBHOOK_ADMIN',
];

it('generates the administrator token at first start, shows it once, and keeps it working', async () => {
  const first = await start();
  const token = first.bootstrap.generatedAdminToken!;
  expect(first.bootstrap).toMatchObject({ firstStart: true, ouName: 'Default', adminUsername: 'admin' });
  expect(token).toMatch(/^updraft_[A-Za-z0-9_-]{43}$/);
  expect((await post(first.graphqlUrl, ME, {}, bearer(token))).data.me).toEqual({
    user: { username: 'admin' },
    organisationUnit: { name: 'Default' },
    permissions: ALL,
  });
  await stop(first);

  const second = await start();
  expect(second.bootstrap).toMatchObject({ firstStart: false, generatedAdminToken: null });
  expect((await post(second.graphqlUrl, ME, {}, bearer(token))).data.me.user.username).toBe('admin');
  const roles = await post(second.graphqlUrl, '{ roles { name permissions } users { username } }', {}, bearer(token));
  expect(roles.data).toEqual({ roles: [{ name: 'Administrator', permissions: ALL }], users: [{ username: 'admin' }] });
});

it('uses ADMIN_TOKEN and ADMIN_PASSWORD at first start', async () => {
  const adminToken = 'an-admin-token-from-the-environment-0123456789';
  const server = await start({ adminToken, adminPassword: 'the admin password' });
  expect(server.bootstrap).toMatchObject({ firstStart: true, generatedAdminToken: null, registeredEnvironmentToken: true });
  expect((await post(server.graphqlUrl, ME, {}, bearer(adminToken))).data.me.user.username).toBe('admin');
  expect((await signIn(server.graphqlUrl, { username: 'admin', password: 'the admin password' })).result.__typename).toBe('MutationSignInSuccess');
});

it('registers a new ADMIN_TOKEN (the previous one stops working) but never one that was revoked', async () => {
  const oldToken = 'the-first-admin-token-from-the-environment-0001';
  const newToken = 'the-second-admin-token-from-the-environment-002';
  await stop(await start({ adminToken: oldToken }));

  const rotated = await start({ adminToken: newToken });
  expect(rotated.bootstrap).toMatchObject({ firstStart: false, registeredEnvironmentToken: true });
  expect((await post(rotated.graphqlUrl, ME, {}, bearer(newToken))).data.me.user.username).toBe('admin');
  expect((await post(rotated.graphqlUrl, ME, {}, bearer(oldToken))).data.me).toBeNull();

  const tokens = await post(rotated.graphqlUrl, '{ apiTokens { id } }', {}, bearer(newToken));
  const revoked = await post(
    rotated.graphqlUrl,
    `mutation($id: ID!) { revokeApiToken(id: $id) { __typename } }`,
    { id: tokens.data.apiTokens[0].id },
    bearer(newToken),
  );
  expect(revoked.data.revokeApiToken.__typename).toBe('MutationRevokeApiTokenSuccess');
  await stop(rotated);

  const again = await start({ adminToken: newToken });
  expect(again.bootstrap.registeredEnvironmentToken).toBe(false);
  expect(again.bootstrap.warnings).toEqual(['ADMIN_TOKEN was revoked through the API and stays revoked: set a new one to get back in.']);
  expect((await post(again.graphqlUrl, ME, {}, bearer(newToken))).data.me).toBeNull();
});

it('refuses to start with an ADMIN_TOKEN too short to be unguessable', async () => {
  await expect(start({ adminToken: 'admin' })).rejects.toThrow(/ADMIN_TOKEN must be at least 32 characters/);
});

it('instances starting together on an empty database bootstrap once', async () => {
  const servers = await Promise.all([start(), start(), start()]);
  expect(servers.filter((s) => s.bootstrap.firstStart)).toHaveLength(1);
  const token = servers.find((s) => s.bootstrap.generatedAdminToken)!.bootstrap.generatedAdminToken!;
  const answer = await post(servers[2].graphqlUrl, '{ roles { name } users { username } }', {}, bearer(token));
  expect(answer.data).toEqual({ roles: [{ name: 'Administrator' }], users: [{ username: 'admin' }] });
});
