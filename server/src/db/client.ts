/**
 * Opens the database: PostgreSQL through postgres.js when a URL is given, otherwise an embedded
 * PGlite persisted on disk. Everything above this module sees one `Database` type and one code path.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { attachHandleState } from './handle-state.js';
import { relations } from './relations.js';

import type { Database, Executor, Transaction } from './types.js';

export type { Database, Executor, Transaction };

export interface DatabaseHandle {
  db: Database;
  kind: 'postgres' | 'pglite';
  /** Runs raw SQL and returns its rows, whatever the driver (used by EXPLAIN tests and benchmarks). */
  rawQuery<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export const migrationsFolder = fileURLToPath(new URL('../../../drizzle', import.meta.url));

/** Connections of the pool for value-dependent searches (opened when first used). */
const CUSTOM_PLAN_POOL_SIZE = 4;

/**
 * How postgres.js (re)connects, so that while the database is away a request fails within 5 s
 * (SERVICE_UNAVAILABLE, docs/operations.md) and work resumes within about a second of its return.
 * Its defaults wait up to 30 s for a connection to open, and after failed attempts delay every new
 * one by up to 20 s (3^attempts / 100 s): requests queued behind that delay hung for a minute, and a
 * returned database went unused for as long.
 */
const CONNECTING = {
  /** Seconds to open a connection (a database that does not answer at all). */
  connect_timeout: 3,
  /** Seconds before the next connection attempt after failed ones: 0.1, 0.2, 0.4 … at most 1 (with jitter). */
  backoff: (attempts: number) => (0.5 + Math.random() / 2) * Math.min(0.1 * 2 ** attempts, 1),
};

/** Arbitrary constant: serialises migrations when several instances start at once. */
const MIGRATION_LOCK_KEY = 727_001;

export interface OpenDatabaseOptions {
  databaseUrl?: string | undefined;
  /** PGlite data directory; `memory://` keeps it in memory (tests). */
  pgliteDir: string;
  /** postgres.js pool size. */
  poolSize?: number;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  if (options.databaseUrl) {
    const client = postgres(options.databaseUrl, {
      max: options.poolSize ?? 10,
      onnotice: () => {},
      ...CONNECTING,
      // Timestamps come back as Date, bigint ids as numbers through drizzle's column modes.
    });
    const db = drizzlePostgres({ client, relations }) as unknown as Database;
    // Searches: planned for their values on every execution (db/custom-plans.ts).
    const customPlanClient = postgres(options.databaseUrl, {
      max: CUSTOM_PLAN_POOL_SIZE,
      onnotice: () => {},
      ...CONNECTING,
      connection: { plan_cache_mode: 'force_custom_plan' },
    });
    const customPlanDb = drizzlePostgres({ client: customPlanClient, relations }) as unknown as Database;
    attachHandleState(customPlanDb, null);
    attachHandleState(db, customPlanDb);
    const reserved = await client.reserve();
    try {
      await reserved`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
      await migratePostgres(db as never, { migrationsFolder });
    } finally {
      await reserved`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.catch(() => {});
      reserved.release();
    }
    return {
      db,
      kind: 'postgres',
      rawQuery: async (text, params = []) => (await client.unsafe(text, params as never[])) as never,
      close: async () => {
        await Promise.all([client.end({ timeout: 5 }), customPlanClient.end({ timeout: 5 })]);
      },
    };
  }

  if (!options.pgliteDir.startsWith('memory://')) mkdirSync(options.pgliteDir, { recursive: true });
  const client = new PGlite(options.pgliteDir);
  await client.waitReady;
  const db = drizzlePglite({ client, relations }) as unknown as Database;
  attachHandleState(db, null);
  await migratePglite(db as never, { migrationsFolder });
  return {
    db,
    kind: 'pglite',
    rawQuery: async (text, params = []) => (await client.query(text, params)).rows as never,
    close: () => client.close(),
  };
}
