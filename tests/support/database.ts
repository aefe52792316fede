/**
 * A database of its own for each test file: a fresh PostgreSQL database when DATABASE_URL is set
 * (CI), otherwise an in-memory PGlite. Runs never see each other's rows.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { openDatabase, type DatabaseHandle } from '@updraft/server/db/client.js';

export interface TestDatabase {
  handle: DatabaseHandle;
  /** The URL of the fresh database, for a second server instance (PostgreSQL only). */
  url: string | undefined;
  drop(): Promise<void>;
}

export const usingPostgres = !!process.env.DATABASE_URL;

/** `adminUrl`: another PostgreSQL server than DATABASE_URL's (a fault test's private cluster). */
export async function createTestDatabase(adminUrl = process.env.DATABASE_URL): Promise<TestDatabase> {
  if (!adminUrl) {
    const handle = await openDatabase({ pgliteDir: 'memory://' });
    return { handle, url: undefined, drop: () => handle.close() };
  }
  const name = `updraft_test_${Date.now()}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const handle = await openDatabase({ databaseUrl: url.toString(), pgliteDir: 'unused' });
  return {
    handle,
    url: url.toString(),
    async drop() {
      await handle.close().catch(() => {});
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}
