/**
 * Every setting the server reads from the environment, parsed once. The README's table of
 * environment variables is generated from nothing: keep it in step with this file by hand.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** ./data at the repository root, whatever directory the server was started from. */
const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../data', import.meta.url));

export interface ServerConfig {
  /** PostgreSQL URL; when absent the server embeds PGlite under `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  firmwareDir: string;
  /** Largest accepted firmware file, in bytes. */
  maxFirmwareBytes: number;
  host: string;
  port: number;
  /** Seed a demo organisation unit, product, fleet and jobs when the database is empty. */
  seedDemo: boolean;
  /** Default cap of Pushed + In Progress tasks across one organisation unit's jobs. */
  ouConcurrencyCap: number;
  /** GraphQL query limits. */
  maxQueryDepth: number;
  maxQueryComplexity: number;
  /** jobProgress subscriptions send at most one event per this many milliseconds. */
  jobProgressIntervalMs: number;
  /** Public base URL devices use to download firmware (defaults to the listening address). */
  publicUrl: string | undefined;

  // ── Authentication (docs/security.md) ──
  /** ADMIN_TOKEN: the first administrator's API token; unset: one is generated at first start and printed once. */
  adminToken: string | undefined;
  /** ADMIN_PASSWORD: the first administrator's password, set at first start only. */
  adminPassword: string | undefined;
  /** Lifetime of a dashboard session, in minutes. */
  sessionTtlMinutes: number;
  /** Behind a reverse proxy: client address, scheme and host come from X-Forwarded-For/-Proto/-Host. */
  trustProxy: boolean;
}

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  }
  return value;
}

function boolFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no'].includes(raw.toLowerCase())) return false;
  throw new Error(`${name} must be true or false, got "${raw}"`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<ServerConfig> = {}): ServerConfig {
  const dataDir = env.DATA_DIR ? path.resolve(env.DATA_DIR) : DEFAULT_DATA_DIR;
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir,
    firmwareDir: path.resolve(env.FIRMWARE_DIR ?? path.join(dataDir, 'firmware')),
    maxFirmwareBytes: intFromEnv(env, 'MAX_FIRMWARE_BYTES', 100 * 1024 * 1024),
    host: env.HOST ?? '0.0.0.0',
    port: intFromEnv(env, 'PORT', 4000),
    seedDemo: boolFromEnv(env, 'SEED_DEMO', true),
    ouConcurrencyCap: intFromEnv(env, 'OU_CONCURRENCY_CAP', 10_000),
    maxQueryDepth: intFromEnv(env, 'MAX_QUERY_DEPTH', 12),
    maxQueryComplexity: intFromEnv(env, 'MAX_QUERY_COMPLEXITY', 5_000),
    jobProgressIntervalMs: intFromEnv(env, 'JOB_PROGRESS_INTERVAL_MS', 250),
    publicUrl: env.PUBLIC_URL || undefined,
    adminToken: env.ADMIN_TOKEN || undefined,
    adminPassword: env.ADMIN_PASSWORD || undefined,
    sessionTtlMinutes: intFromEnv(env, 'SESSION_TTL_MINUTES', 12 * 60),
    trustProxy: boolFromEnv(env, 'TRUST_PROXY', false),
    ...overrides,
  };
}
