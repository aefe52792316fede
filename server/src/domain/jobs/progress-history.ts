/**
 * A job's progress over time, for the job details chart: how many of its devices had reached a
 * final state (succeeded, failed) at each of `points` evenly spaced instants from the job's start
 * to now (or its end). Built from the tasks' finish times, so it is the same for every viewer and
 * does not depend on when they opened the page. A task retried since keeps only its latest finish.
 */
import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { queryRows } from '../../db/sql.js';
import type { JobRow } from './settings-view.js';

export interface ProgressPoint {
  at: Date;
  /** Devices final by then (cumulative). */
  succeeded: number;
  failed: number;
}

export const MAX_PROGRESS_POINTS = 500;

export async function progressHistory(
  db: Executor,
  job: Pick<JobRow, 'id' | 'createdAt' | 'startedAt' | 'finishedAt'>,
  points: number,
  now = new Date(),
): Promise<ProgressPoint[]> {
  const start = (job.startedAt ?? job.createdAt).getTime();
  const end = Math.max(start + 1000, (job.finishedAt ?? now).getTime());
  const step = (end - start) / points;
  const rows = await queryRows<{ bucket: number | string; status: 'SUCCEEDED' | 'FAILED'; n: number | string }>(
    db,
    sql`select least(greatest(ceil((extract(epoch from finished_at) * 1000 - ${start}) / ${step}), 0), ${points}) as bucket,
               status, count(*) as n
        from job_tasks
        where job_id = ${job.id} and status in ('SUCCEEDED', 'FAILED') and finished_at is not null
        group by 1, 2`,
  );
  const succeeded = new Array<number>(points + 1).fill(0);
  const failed = new Array<number>(points + 1).fill(0);
  for (const row of rows) (row.status === 'SUCCEEDED' ? succeeded : failed)[Number(row.bucket)] += Number(row.n);
  const history: ProgressPoint[] = [];
  let s = 0;
  let f = 0;
  for (let i = 0; i <= points; i++) {
    s += succeeded[i];
    f += failed[i];
    history.push({ at: new Date(start + i * step), succeeded: s, failed: f });
  }
  return history;
}
