/**
 * Baseline of scenario 1: the same job details served as plain JSON over HTTP by hand-written SQL
 * (postgres.js prepared statements on PostgreSQL, PGlite's query on PGlite), in the same process as
 * the Updraft server. It does what a careful hand-written endpoint must do and no more: check the
 * bearer token (one query), read the job in the caller's unit, its counts from job_task_counts and
 * the five tab pages (or the search page and its count, planned for their values as Updraft plans
 * them) in parallel, and answer exactly the JSON the GraphQL query answers, so that the two can be
 * compared byte for byte.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import postgres from 'postgres';
import { hashSecret } from '@updraft/server/domain/secrets.js';
import {
  COUNT_FIELD,
  EMPTY_COUNTS,
  FAILURE_REASON_LABELS,
  effectiveWaitingReason,
  jobProgress,
  totalTasks,
  type StatusCounts,
} from '@updraft/server/domain/tasks/rules.js';
import type { FailureReason, TaskStatus, WaitingReason } from '@updraft/server/db/schema.js';
import type { BenchDatabase } from '../environment.js';

type Query = <T>(text: string, params: unknown[]) => Promise<T[]>;

export interface JsonBaseline {
  url: string;
  close(): Promise<void>;
}

export const TABS: [alias: string, status: TaskStatus][] = [
  ['toBePushed', 'TO_BE_PUSHED'],
  ['pushed', 'PUSHED'],
  ['inProgress', 'IN_PROGRESS'],
  ['succeeded', 'SUCCEEDED'],
  ['failed', 'FAILED'],
];

interface TaskRow {
  id: string | number;
  device_key: string;
  status: TaskStatus;
  progress: number;
  failure_reason: FailureReason | null;
  failure_detail: string | null;
  waiting_reason: WaitingReason | null;
  current_version: string | null;
  pushed_at: Date | null;
  failed_at: Date | null;
  updated_at: Date;
}

const TASK_COLUMNS = 'id, device_key, status, progress, failure_reason, failure_detail, waiting_reason, current_version, pushed_at, failed_at, updated_at';
const globalId = (type: string, id: string | number) => Buffer.from(`${type}:${id}`).toString('base64');
const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

function node(row: TaskRow, jobStatus: string) {
  return {
    id: globalId('JobDevice', row.id),
    deviceKey: row.device_key,
    status: row.status,
    progress: Number(row.progress),
    failureReason: row.failure_reason,
    failureReasonText: row.failure_reason ? FAILURE_REASON_LABELS[row.failure_reason] : null,
    failureDetail: row.failure_detail,
    waitingReason: effectiveWaitingReason(jobStatus, { status: row.status, waitingReason: row.waiting_reason }),
    currentVersion: row.current_version,
    pushedAt: iso(row.pushed_at),
    failedAt: iso(row.failed_at),
    updatedAt: iso(row.updated_at),
  };
}

function page(rows: TaskRow[], size: number, totalCount: number, jobStatus: string) {
  const nodes = rows.slice(0, size);
  return {
    totalCount,
    pageInfo: { hasNextPage: rows.length > size, endCursor: nodes.length ? nodes[nodes.length - 1].device_key : null },
    nodes: nodes.map((r) => node(r, jobStatus)),
  };
}

export async function startJsonBaseline(database: BenchDatabase): Promise<JsonBaseline> {
  const client = database.url ? postgres(database.url, { max: 10, onnotice: () => {} }) : null;
  const query: Query = client
    ? async (text, params) => (await client.unsafe(text, params as never[], { prepare: true })) as never
    : (text, params) => database.handle.rawQuery(text, params);
  // The search's statements are planned for their values, as Updraft's are (server/src/db/custom-plans.ts):
  // a generic plan walks the failure-time index of the whole job.
  const searchClient = database.url ? postgres(database.url, { max: 4, onnotice: () => {}, connection: { plan_cache_mode: 'force_custom_plan' } }) : null;
  const searchQuery: Query = searchClient ? async (text, params) => (await searchClient.unsafe(text, params as never[], { prepare: true })) as never : query;

  async function caller(authorization: string | undefined): Promise<{ ouId: string } | null> {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token) return null;
    const [row] = await query<{
      ou_id: string;
      kind: string;
      revoked_at: Date | null;
      expires_at: Date | null;
      disabled_at: Date | null;
      permissions: string[] | null;
      role_permissions: string[];
    }>(
      `select t.ou_id, t.kind, t.revoked_at, t.expires_at, u.disabled_at, t.permissions::text[] as permissions,
              coalesce((select array_agg(distinct p::text) from user_roles ur join roles r on r.id = ur.role_id, unnest(r.permissions) p
                        where ur.user_id = u.id), '{}') as role_permissions
       from api_tokens t join users u on u.id = t.user_id where t.token_hash = $1`,
      [hashSecret(token)],
    );
    if (row?.kind !== 'API_TOKEN' || row.revoked_at || row.disabled_at || (row.expires_at && new Date(row.expires_at) <= new Date())) return null;
    const permissions = row.permissions ? row.role_permissions.filter((p) => row.permissions!.includes(p)) : row.role_permissions;
    return permissions.includes('OTA_READ') ? { ouId: row.ou_id } : null;
  }

  async function jobDetails(ouId: string, jobId: string, size: number) {
    const [[job], countRows, ...pages] = await Promise.all([
      query<{ id: string; name: string; status: string }>('select id, name, status from ota_jobs where id = $1 and ou_id = $2', [jobId, ouId]),
      query<{ status: TaskStatus; n: number }>('select status, n from job_task_counts where job_id = $1 and n <> 0', [jobId]),
      ...TABS.map(([, status]) =>
        query<TaskRow>(`select ${TASK_COLUMNS} from job_tasks where job_id = $1 and status = $2 order by device_key limit $3`, [jobId, status, size + 1]),
      ),
    ]);
    if (!job) return { data: { job: null } };
    const counts: StatusCounts = { ...EMPTY_COUNTS };
    for (const row of countRows) counts[COUNT_FIELD[row.status]] += Number(row.n);
    const result: Record<string, unknown> = {
      id: globalId('OtaJob', job.id),
      name: job.name,
      status: job.status,
      progress: jobProgress(counts),
      deviceCount: totalTasks(counts),
      statusCounts: counts,
    };
    TABS.forEach(([alias, status], i) => {
      result[alias] = page(pages[i], size, counts[COUNT_FIELD[status]], job.status);
    });
    return { data: { job: result } };
  }

  async function failedSearch(
    ouId: string,
    jobId: string,
    search: { failureReason: string; currentVersion: string; failedAfter: string; failedBefore: string },
    size: number,
  ) {
    const where = `job_id = $1 and status = 'FAILED' and failure_reason = $2 and current_version = $3 and failed_at >= $4 and failed_at < $5`;
    const params = [jobId, search.failureReason, search.currentVersion, search.failedAfter, search.failedBefore];
    const [[job], rows, [count]] = await Promise.all([
      query<{ id: string; status: string }>('select id, status from ota_jobs where id = $1 and ou_id = $2', [jobId, ouId]),
      searchQuery<TaskRow>(`select ${TASK_COLUMNS} from job_tasks where ${where} order by device_key limit $6`, [...params, size + 1]),
      searchQuery<{ n: number | string }>(`select count(*) as n from job_tasks where ${where}`, params),
    ]);
    if (!job) return { data: { job: null } };
    return { data: { job: { id: globalId('OtaJob', job.id), devices: page(rows, size, Number(count.n), job.status) } } };
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      try {
        const who = await caller(req.headers.authorization);
        if (!who) return void res.writeHead(401).end();
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const answer =
          req.url === '/job-details'
            ? await jobDetails(who.ouId, body.jobId, body.size)
            : req.url === '/failed-search'
              ? await failedSearch(who.ouId, body.jobId, body.search, body.size)
              : null;
        if (!answer) return void res.writeHead(404).end();
        const json = JSON.stringify(answer);
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) }).end(json);
      } catch (error) {
        console.error('baseline:', error);
        res.writeHead(500).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([client?.end({ timeout: 5 }), searchClient?.end({ timeout: 5 })]);
    },
  };
}
