/**
 * On PostgreSQL, with 100,000 tasks in one job (and another 100,000 in a second job), every tab
 * page, every tab count, the status counts and the Upgrade Failed searches are driven by indexes:
 * no sequential scan of job_tasks. The plans are those of the very queries the API runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadStatusCounts, statusCountsQuery } from '@updraft/server/domain/loaders.js';
import { sql } from 'drizzle-orm';
import { forValueDependentPlans } from '@updraft/server/db/custom-plans.js';
import { countTasks, countTasksQuery, searchTasksQuery, type KeysetPage, type TaskFilter } from '@updraft/server/domain/tasks/search.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { usingPostgres } from '../support/database.js';
import { createProduct, createUpgradeJob, rawId, uploadFirmware } from '../support/fixtures.js';

const TASKS = 100_000;
let t: TestServer;
let jobId: string;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

async function explain(query: { toSQL(): { sql: string; params: unknown[] } }): Promise<PlanNode> {
  const { sql, params } = query.toSQL();
  const [row] = await t.database.handle.rawQuery<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`explain (format json) ${sql}`, params);
  return row['QUERY PLAN'][0].Plan;
}

function describePlan(plan: PlanNode): string {
  return nodes(plan)
    .map((n) => `${n['Node Type']}${n['Index Name'] ? ` using ${n['Index Name']}` : ''}${n['Relation Name'] ? ` on ${n['Relation Name']}` : ''}`)
    .join(' > ');
}

/**
 * No sequential scan of job_tasks: the query reads tasks through an index, or does not read
 * job_tasks at all (counts come from the small job_task_counts table the triggers keep).
 */
function expectIndexDriven(plan: PlanNode, label: string) {
  const all = nodes(plan);
  const text = `${label}: ${describePlan(plan)}`;
  expect(
    all.filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'job_tasks'),
    text,
  ).toEqual([]);
  const readsTasks = all.some((n) => n['Relation Name'] === 'job_tasks');
  const readsCounts = all.some((n) => n['Relation Name'] === 'job_task_counts');
  expect(readsTasks ? all.some((n) => /Index/.test(n['Node Type'])) : readsCounts, text).toBe(true);
  console.log(text);
}

describe.skipIf(!usingPostgres)('query plans on a job of 100,000 tasks', () => {
  beforeAll(async () => {
    // The engine stays off: these tests are about the API's rules, and pin task states themselves.
    t = await startTestServer({ engineEnabled: false });
    await createProduct(t, 'big');
    // Devices straight into the table: this test is about reading tasks, not registering devices.
    await t.database.handle.rawQuery(
      `insert into devices (ou_id, product_id, device_key, secret_hash, firmware_version, tags)
       select p.ou_id, p.id, 'dev-' || lpad(i::text, 6, '0'), md5(i::text), case when i % 4 = 0 then '1.1' else '1.0' end, '{}'::jsonb
       from products p, generate_series(1, ${TASKS}) i where p.product_key = 'big'`,
    );
    const firmwareId = (await uploadFirmware(t, { productKey: 'big', name: 'Two', version: '2.0' })).id;
    const other = (await uploadFirmware(t, { productKey: 'big', name: 'Three', version: '3.0' })).id;
    await createUpgradeJob(t, { firmwareId: other, scope: { allDevices: true } });
    jobId = rawId(await createUpgradeJob(t, { firmwareId, scope: { allDevices: true } }));
    // A rollout in full swing: 40% succeeded, 20% failed (six reasons, over 10 hours), 1% in flight.
    await t.database.handle.rawQuery(
      `update job_tasks set
         status = (case when id % 100 < 40 then 'SUCCEEDED' when id % 100 < 60 then 'FAILED'
                        when id % 100 = 60 then 'PUSHED' when id % 100 = 61 then 'IN_PROGRESS' else 'TO_BE_PUSHED' end)::upgrade_status,
         failure_reason = (case when id % 100 between 40 and 59 then
           (array['DOWNLOAD_FAILED','VERIFICATION_FAILED','WRITE_FAILED','TIMEOUT','UNDEFINED','DEVICE_IGNORED'])[1 + id % 6] end)::failure_reason,
         failed_at = case when id % 100 between 40 and 59 then timestamptz '2026-06-01' + (id % 600) * interval '1 minute' end
       where job_id = $1`,
      [jobId],
    );
    await t.database.handle.rawQuery('analyze job_tasks');
  }, 300_000);
  afterAll(() => t?.close());

  const page = (overrides: Partial<KeysetPage> = {}): KeysetPage => ({ limit: 51, inverted: false, ...overrides });

  it('has the tasks it claims', async () => {
    const counts = (await loadStatusCounts(t.server.services.db, [jobId])).get(jobId)!;
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(TASKS);
    expect(counts.failed).toBe(TASKS * 0.2);
  });

  it('status counts (every tab count at once)', async () => {
    expectIndexDriven(await explain(statusCountsQuery(t.server.services.db, [jobId])), 'statusCounts');
  });

  for (const status of ['TO_BE_PUSHED', 'PUSHED', 'IN_PROGRESS', 'SUCCEEDED', 'FAILED'] as const) {
    it(`the ${status} tab: first page, a deep page, the last page, its count`, async () => {
      const { db } = t.server.services;
      expectIndexDriven(await explain(searchTasksQuery(db, jobId, { status }, page())), `${status} page 1`);
      expectIndexDriven(await explain(searchTasksQuery(db, jobId, { status }, page({ after: 'dev-090000' }))), `${status} deep page`);
      expectIndexDriven(await explain(searchTasksQuery(db, jobId, { status }, page({ inverted: true }))), `${status} last page`);
      expectIndexDriven(await explain(countTasksQuery(db, jobId, { status })), `${status} count`);
    });
  }

  const searches: [string, TaskFilter][] = [
    ['device key prefix', { status: 'TO_BE_PUSHED', deviceKey: 'dev-0123', deviceKeyMatch: 'PREFIX' }],
    ['device key substring', { status: 'SUCCEEDED', deviceKey: '777', deviceKeyMatch: 'CONTAINS' }],
    ['failure reason', { failureReason: 'TIMEOUT' }],
    ['current version', { status: 'FAILED', currentVersion: '1.1' }],
    ['failure time range', { failedAfter: new Date('2026-06-01T02:00:00Z'), failedBefore: new Date('2026-06-01T03:00:00Z') }],
    [
      'reason + version + time range',
      {
        failureReason: 'WRITE_FAILED',
        currentVersion: '1.0',
        failedAfter: new Date('2026-06-01T01:00:00Z'),
        failedBefore: new Date('2026-06-01T05:00:00Z'),
      },
    ],
  ];
  for (const [label, filter] of searches) {
    it(`search by ${label}: page and count`, async () => {
      const { db } = t.server.services;
      expectIndexDriven(await explain(searchTasksQuery(db, jobId, filter, page())), `${label} page`);
      expectIndexDriven(await explain(countTasksQuery(db, jobId, filter)), `${label} count`);
    });
  }

  // The plans above are for the searches' values. Run as prepared statements, a search is planned
  // for its values only if its session says so: a generic plan walks the failure-time index of the
  // whole job (db/custom-plans.ts). Searches run on a pool whose sessions do; tabs keep generic plans.
  it('searches run where every execution is planned for its values, tabs where plans are reused', async () => {
    const { db } = t.server.services;
    const planMode = async (executor: typeof db) =>
      ((await executor.execute(sql`show plan_cache_mode`)) as unknown as { plan_cache_mode: string }[])[0].plan_cache_mode;
    expect(await planMode(forValueDependentPlans(db))).toBe('force_custom_plan');
    expect(await planMode(db)).toBe('auto');
    const [, filter] = searches.at(-1)!;
    // Past PostgreSQL's five custom plans, the same answer as planned anew.
    const counts = [];
    for (let i = 0; i < 7; i++) counts.push(await countTasks(db, jobId, filter));
    const [{ n }] = await t.database.handle.rawQuery<{ n: string }>(
      `select count(*) as n from job_tasks where job_id = $1 and status = 'FAILED' and failure_reason = 'WRITE_FAILED'
         and current_version = '1.0' and failed_at >= $2 and failed_at < $3`,
      [jobId, '2026-06-01T01:00:00Z', '2026-06-01T05:00:00Z'],
    );
    expect(Number(n)).toBeGreaterThan(0);
    expect(new Set(counts)).toEqual(new Set([Number(n)]));
  });
});
