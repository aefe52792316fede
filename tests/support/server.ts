/**
 * Starts a real Updraft server on port 0 with a database of its own, and talks to it over HTTP
 * exactly as a client would.
 *
 * Every call is authenticated: the server bootstraps its administrator with a known ADMIN_TOKEN,
 * and `gql` sends it unless told otherwise. `createUser` makes users with exactly the permissions a
 * test needs, in the administrator's organisation unit or in another one.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type RunningServer, type StartOptions, startServer } from '@updraft/server/app.js';
import { issueCredential } from '@updraft/server/auth/credentials.js';
import { createRole } from '@updraft/server/auth/roles.js';
import { createUser as createUserRow } from '@updraft/server/auth/users.js';
import { loadConfig, type ServerConfig } from '@updraft/server/config.js';
import { parseLogLevel } from '@updraft/server/observability/logger.js';
import { organisationUnits, PERMISSIONS, type Permission } from '@updraft/server/db/schema.js';
import type { Caller } from '@updraft/server/domain/caller.js';
import { inTransaction } from '@updraft/server/domain/transaction.js';
import { eq } from 'drizzle-orm';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface GraphQLResponse<T = any> {
  data?: T;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

/** POST a GraphQL operation; resolves with the parsed response (any HTTP status). */
export type Gql = <T = any>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>) => Promise<GraphQLResponse<T>>;

export interface CreateUserOptions {
  /** Exactly what the user's (single) role grants; [] for none. */
  permissions: readonly Permission[];
  /** Another organisation unit (created when it does not exist); default: the administrator's. */
  ouName?: string;
  username?: string;
  /** Set to sign in with it; default: no password (token only). */
  password?: string;
  /** The API token's own permissions; default: all of the user's. */
  tokenPermissions?: readonly Permission[];
  /** The API token's expiry; default: none. */
  tokenExpiresAt?: Date;
}

export interface TestUser {
  userId: string;
  username: string;
  ouId: string;
  roleId: string;
  /** An API token of the user. */
  token: string;
  tokenId: string;
  /** `{ authorization: 'Bearer <token>' }`. */
  headers: Record<string, string>;
  /** `gql` as this user. */
  gql: Gql;
}

export interface TestServer {
  server: RunningServer;
  database: TestDatabase;
  dataDir: string;
  /** The bootstrap administrator's API token (every permission); `gql` sends it by default. */
  adminToken: string;
  /** Headers every request of this test sends by default: the administrator's `authorization`. */
  defaultHeaders: () => Record<string, string>;
  /**
   * POST a GraphQL operation as the administrator. `headers.authorization` replaces the token;
   * `{ authorization: '' }` sends none (anonymous).
   */
  gql: Gql;
  /** graphql-ws connection_init payload for a token (default: the administrator's). */
  connectionParams(token?: string): { authorization: string };
  /** A user with exactly these permissions, and an API token of theirs. */
  createUser(options: CreateUserOptions): Promise<TestUser>;
  close(): Promise<void>;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export interface TestServerOptions extends StartOptions {
  /** Create the test's database on this PostgreSQL server (a fault test's private cluster). */
  databaseAdminUrl?: string;
}

export async function startTestServer(overrides: Partial<ServerConfig> = {}, options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'updraft-test-'));
  const database = await createTestDatabase(options.databaseAdminUrl);
  const adminToken = overrides.adminToken ?? `updraft_test_${randomBytes(24).toString('base64url')}`;
  const config = loadConfig(
    {},
    {
      dataDir,
      firmwareDir: path.join(dataDir, 'firmware'),
      host: '127.0.0.1',
      port: 0,
      seedDemo: false,
      // Warnings and errors only, unless the run asks for more (LOG_LEVEL=debug npx vitest …).
      logLevel: parseLogLevel(process.env.LOG_LEVEL ?? 'warn'),
      // Tests send requests far faster than any client; tests/api/rate-limits.test.ts turns the limits on.
      apiRateLimitPerMinute: 0,
      apiAnonymousRateLimitPerMinute: 0,
      ...overrides,
      adminToken,
    },
  );
  const server = await startServer(config, database.handle, options);

  const gqlWith =
    (defaults: Record<string, string>): Gql =>
    async (query, variables, headers) => {
      const merged: Record<string, string> = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...defaults };
      for (const [name, value] of Object.entries(headers ?? {})) {
        if (name.toLowerCase() !== 'authorization') merged[name] = value;
        else if (value === '') delete merged.authorization;
        else merged.authorization = value;
      }
      const response = await fetch(server.graphqlUrl, { method: 'POST', headers: merged, body: JSON.stringify({ query, variables }) });
      return (await response.json()) as GraphQLResponse;
    };

  let users = 0;
  return {
    server,
    database,
    dataDir,
    adminToken,
    defaultHeaders: () => bearer(adminToken),
    gql: gqlWith(bearer(adminToken)),
    connectionParams: (token = adminToken) => bearer(token),
    async createUser(options) {
      const n = ++users;
      const username = options.username ?? `user-${n}-${randomBytes(3).toString('hex')}`;
      return inTransaction(server.services, async (scope) => {
        const ouId = options.ouName ? await ensureUnit(scope.tx, options.ouName) : server.adminCaller.ouId;
        // Acts as the unit's system, not as a user: the test decides what exists, the API is not under test here.
        const system: Caller = { userId: null, displayName: 'test setup', ouId, permissions: new Set(PERMISSIONS) };
        const role = await createRole(scope, system, { name: `role of ${username}`, permissions: [...options.permissions] });
        const user = await createUserRow(scope, system, { username, password: options.password, roleIds: [role.id] });
        const { secret, row } = await issueCredential(scope.tx, {
          kind: 'API_TOKEN',
          userId: user.id,
          ouId,
          name: `token of ${username}`,
          permissions: options.tokenPermissions ? [...options.tokenPermissions] : null,
          expiresAt: options.tokenExpiresAt ?? null,
          createdBy: null,
        });
        return {
          userId: user.id,
          username: user.username,
          ouId,
          roleId: role.id,
          token: secret,
          tokenId: row.id,
          headers: bearer(secret),
          gql: gqlWith(bearer(secret)),
        };
      });
    },
    async close() {
      await server.close();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function ensureUnit(tx: Parameters<Parameters<typeof inTransaction>[1]>[0]['tx'], name: string): Promise<string> {
  const [existing] = await tx.select().from(organisationUnits).where(eq(organisationUnits.name, name));
  if (existing) return existing.id;
  const [created] = await tx.insert(organisationUnits).values({ name }).returning();
  return created.id;
}
