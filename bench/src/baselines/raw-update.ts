/**
 * Baseline of scenario 2: the same task rows changed by raw batched UPDATEs through postgres.js (or
 * PGlite's query), one transaction per batch of 500 rows, batches one after another on one
 * connection, as fast as the database takes them. The triggers every task write fires (change
 * order, counts) fire here too: it is the same write, without MQTT, decoding, locking, replies,
 * device presence or events.
 */
import postgres from 'postgres';
import type { BenchDatabase } from '../environment.js';

export const RAW_BATCH = 500;

const UPDATE = `update job_tasks t set status = 'IN_PROGRESS', progress = x.p, started_at = coalesce(t.started_at, now()),
                  updated_at = now(), change_seq = nextval('task_change_seq')
                from unnest($1::bigint[], $2::int[]) as x(id, p) where t.id = x.id`;

/** Applies `rows` (task id, progress) in order, in batches of up to RAW_BATCH; returns the elapsed milliseconds. */
export async function rawBatchedUpdate(database: BenchDatabase, rows: { id: number; progress: number }[]): Promise<number> {
  const client = database.url ? postgres(database.url, { max: 1, onnotice: () => {} }) : null;
  try {
    const run = client
      ? (ids: number[], progress: number[]) => client.unsafe(UPDATE, [ids, progress] as never[], { prepare: true })
      : (ids: number[], progress: number[]) => database.handle.rawQuery(UPDATE, [ids, progress]);
    await run([0], [0]);
    const started = performance.now();
    // A batch never names a task twice (an UPDATE … FROM changes a row once per statement).
    let ids: number[] = [];
    let progress: number[] = [];
    let inBatch = new Set<number>();
    for (const row of rows) {
      if (ids.length === RAW_BATCH || inBatch.has(row.id)) {
        await run(ids, progress);
        ids = [];
        progress = [];
        inBatch = new Set();
      }
      ids.push(row.id);
      progress.push(row.progress);
      inBatch.add(row.id);
    }
    if (ids.length) await run(ids, progress);
    return performance.now() - started;
  } finally {
    await client?.end({ timeout: 5 });
  }
}
