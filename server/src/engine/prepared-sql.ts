/**
 * Raw statements of the hot write paths (device report batches, task changes), run as prepared
 * statements when the database is PostgreSQL through postgres.js. drizzle's `execute` sends every
 * statement unnamed, and postgres.js sends an unnamed statement with parameters as a describe
 * first, waits for its answer, then the execute: an extra round trip per statement, and statements
 * "sent together" were not pipelined after all. A prepared statement is described once per
 * connection and query text (the text is always the same, the values bound), then runs in one
 * message and pipelines. PGlite runs them through `execute` as before.
 */
import type { SQL } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { queryRows } from '../domain/sql.js';

interface PostgresJsLike {
  unsafe(text: string, params: unknown[], options: { prepare: boolean }): PromiseLike<unknown[]>;
}

interface WithSession {
  dialect?: { sqlToQuery(query: SQL): { sql: string; params: unknown[] } };
  session?: { client?: Partial<PostgresJsLike> };
}

export async function preparedRows<T>(executor: Executor, query: SQL): Promise<T[]> {
  const { dialect, session } = executor as unknown as WithSession;
  const client = session?.client;
  if (!dialect || typeof client?.unsafe !== 'function') return queryRows<T>(executor, query);
  const { sql, params } = dialect.sqlToQuery(query);
  return (await (client as PostgresJsLike).unsafe(sql, params, { prepare: true })) as T[];
}
