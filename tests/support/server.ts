/**
 * Starts a real Updraft server on port 0 with a database of its own, and talks to it over HTTP
 * exactly as a client would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '@updraft/server/app.js';
import { loadConfig, type ServerConfig } from '@updraft/server/config.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface GraphQLResponse<T = any> {
  data?: T;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

export interface TestServer {
  server: RunningServer;
  database: TestDatabase;
  dataDir: string;
  /** Headers every request of this test sends by default (credentials, once auth exists). */
  defaultHeaders?: () => Record<string, string>;
  /** POST a GraphQL operation; resolves with the parsed response (any HTTP status). */
  gql<T = any>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLResponse<T>>;
  close(): Promise<void>;
}

export async function startTestServer(overrides: Partial<ServerConfig> = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'updraft-test-'));
  const database = await createTestDatabase();
  const config = loadConfig(
    {},
    { dataDir, firmwareDir: path.join(dataDir, 'firmware'), host: '127.0.0.1', port: 0, seedDemo: false, ...overrides },
  );
  const server = await startServer(config, database.handle);
  return {
    server,
    database,
    dataDir,
    async gql(query, variables, headers) {
      const response = await fetch(server.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as GraphQLResponse;
    },
    async close() {
      await server.close();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
