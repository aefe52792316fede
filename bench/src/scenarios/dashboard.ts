/**
 * Scenario 5, dashboard: Debian's Chromium (playwright-core, no downloaded browser) opens the job
 * details page of a 100,000-task job. Time to the first rows, then long tasks (> 50 ms, the
 * PerformanceObserver 'longtask' entries) while the job moves for 60 s with 4 live updates a second,
 * each a batch of task changes written as device reports write them (writeTaskChanges, then the
 * job's events after the commit). Goal: no long task after the first render.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { sql } from 'drizzle-orm';
import { issueCredential } from '@updraft/server/auth/credentials.js';
import { createRole } from '@updraft/server/auth/roles.js';
import { createUser } from '@updraft/server/auth/users.js';
import { jobEvents } from '@updraft/server/domain/jobs/events.js';
import { queryRows } from '@updraft/server/db/sql.js';
import { inTransaction } from '@updraft/server/domain/transaction.js';
import { changesByJob, type TaskChange, writeTaskChanges } from '@updraft/server/domain/tasks/write.js';
import type { BenchContext } from '../context.js';
import { createBenchDatabase, sleep, startUpdraft } from '../environment.js';
import { addFirmware, createFleet, createJob, shapeRollout } from '../fixtures.js';
import { figure, type ScenarioResult } from '../results.js';
import { globalJobId } from './live-documents.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const WEB_DIST = fileURLToPath(new URL('../../../web/dist/index.html', import.meta.url));
const OPERATOR = ['FIRMWARE_READ', 'OTA_READ', 'OTA_CREATE', 'OTA_CONTROL', 'DEVICE_READ'] as const;

/** Collects long tasks and frame gaps from the first script of every page. */
const OBSERVE = `
  window.__longTasks = [];
  new PerformanceObserver((list) => list.getEntries().forEach((e) => window.__longTasks.push({ at: e.startTime, ms: e.duration })))
    .observe({ type: 'longtask', buffered: true });
`;

export async function runDashboard(ctx: BenchContext): Promise<ScenarioResult> {
  const sizes = ctx.quick ? { tasks: 2_000, liveSeconds: 10, perTick: 25 } : { tasks: 100_000, liveSeconds: 60, perTick: 250 };
  if (!existsSync(WEB_DIST)) {
    ctx.log('  building the dashboard (web/dist is missing)');
    execFileSync('npx', ['--yes', 'pnpm@10.34.9', '--filter', '@updraft/web', 'build'], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      stdio: 'inherit',
    });
  }
  const database = await createBenchDatabase();
  // The engine stays off: the page's live updates come from the bench's own writes, at a steady pace.
  const updraft = await startUpdraft(database, { engineEnabled: false });
  const { server } = updraft;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const checks: string[] = [];
  try {
    const fleet = await createFleet(server, { productKey: 'dashboard', count: sizes.tasks, altVersion: '1.1.0' });
    const job = await createJob(server, (await addFirmware(server, fleet, '2.0.0')).id, {
      name: `Roll out 2.0.0 to ${sizes.tasks.toLocaleString('en-US')} meters`,
    });
    await shapeRollout(server, job.id);
    const session = await inTransaction(server.services, async (scope) => {
      const system = { userId: null, displayName: 'bench', ouId: server.adminCaller.ouId, permissions: server.adminCaller.permissions };
      const role = await createRole(scope, system, { name: 'bench operator', permissions: [...OPERATOR] });
      const user = await createUser(scope, system, { username: 'bench-operator', roleIds: [role.id] });
      const { secret } = await issueCredential(scope.tx, {
        kind: 'SESSION',
        userId: user.id,
        ouId: user.ouId,
        name: 'bench browser',
        permissions: null,
        expiresAt: new Date(Date.now() + 6 * 3600_000),
        createdBy: user.id,
      });
      return secret;
    });
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, timezoneId: 'UTC' });
    await context.addCookies([{ name: 'updraft_session', value: session, url: server.url, httpOnly: true, sameSite: 'Strict' }]);
    await context.addInitScript(OBSERVE);
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    const url = `${server.url}/jobs/${encodeURIComponent(globalJobId(job.id))}`;

    const firstRows = async () => {
      const started = Date.now();
      await page.goto(url);
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="device-row"]').length > 0 && !document.querySelector('table.stale'), null, {
        polling: 'raf',
        timeout: 120_000,
      });
      return Date.now() - started;
    };

    // Moves the job as device reports would: To be Pushed → Pushed → In Progress → final, in key order.
    const idsIn = (status: string, limit: number) =>
      queryRows<{ id: string | number }>(
        server.services.db,
        sql`select id from job_tasks where job_id = ${job.id} and status = ${status}::upgrade_status order by device_key limit ${limit}`,
      ).then((rows) => rows.map((r) => Number(r.id)));
    const tick = async (): Promise<number> => {
      const [toPush, toStart, toFinish] = await Promise.all([
        idsIn('TO_BE_PUSHED', sizes.perTick),
        idsIn('PUSHED', sizes.perTick),
        idsIn('IN_PROGRESS', sizes.perTick),
      ]);
      return inTransaction(server.services, async (scope) => {
        const changes: TaskChange[] = [
          ...toStart.map((id) => ({ id, jobId: job.id, from: 'PUSHED' as const, update: { kind: 'progress' as const, progress: 40 } })),
          ...toFinish.map((id, i) => ({
            id,
            jobId: job.id,
            from: 'IN_PROGRESS' as const,
            update:
              i % 20 === 0
                ? { kind: 'failed' as const, reason: 'DOWNLOAD_FAILED' as const, detail: 'HTTP 503 (bench)' }
                : { kind: 'succeeded' as const, currentVersion: '2.0.0' },
          })),
          ...toPush.map((id) => ({
            id,
            jobId: job.id,
            from: 'TO_BE_PUSHED' as const,
            update: { kind: 'pushed' as const, messageId: `bench-${id}`, timeoutMs: 3_600_000 },
          })),
        ];
        const all = await writeTaskChanges(scope.tx, changes);
        const changed = changesByJob(all).get(job.id);
        if (changed) jobEvents(job, 'bench reports', changed).forEach(scope.emit);
        return all.length;
      });
    };

    await firstRows(); // warm-up (the browser's caches, the server's plans)
    const firstRowsMs: number[] = [];
    const longTasks: number[] = [];
    const longestMs: number[] = [];
    const changesPerSecond: number[] = [];
    for (let rep = 1; rep <= ctx.reps; rep++) {
      // Every repetition starts from the same rollout in full swing (the last one drained the first tab).
      await shapeRollout(server, job.id);
      firstRowsMs.push(await firstRows());
      // Long tasks of the live phase only: the observer delivers entries late, so the first
      // render's own long task (before the rows showed) can arrive after this point; the start
      // time tells them apart (Long Animation Frame attribution showed it: the first page's
      // response parse, render and layout).
      const liveFrom = await page.evaluate(() => performance.now());
      let changes = 0;
      const end = Date.now() + sizes.liveSeconds * 1000;
      while (Date.now() < end) {
        const started = Date.now();
        changes += await tick();
        await sleep(Math.max(0, 250 - (Date.now() - started)));
      }
      await sleep(500);
      const tasks = (await page.evaluate(() => (window as unknown as { __longTasks: { at: number; ms: number }[] }).__longTasks)).filter(
        (t) => t.at >= liveFrom,
      );
      longTasks.push(tasks.length);
      longestMs.push(Math.max(0, ...tasks.map((t) => t.ms)));
      changesPerSecond.push(changes / sizes.liveSeconds);
      ctx.log(
        `  rep ${rep}: first rows ${firstRowsMs.at(-1)} ms; ${tasks.length} long tasks (longest ${Math.round(longestMs.at(-1)!)} ms) during ${sizes.liveSeconds} s of ${Math.round(changes / sizes.liveSeconds)} task changes/s`,
      );
    }
    if (pageErrors.length) throw new Error(`the page reported errors: ${pageErrors.slice(0, 3).join('; ')}`);
    // The tab counts on the page end where the database is.
    const slugs: [string, string][] = [
      ['to-be-pushed', 'TO_BE_PUSHED'],
      ['pushed', 'PUSHED'],
      ['in-progress', 'IN_PROGRESS'],
      ['succeeded', 'SUCCEEDED'],
      ['failed', 'FAILED'],
    ];
    const expected = new Map(
      (
        await database.handle.rawQuery<{ status: string; n: string | number }>(
          'select status, count(*) as n from job_tasks where job_id = $1 group by status',
          [job.id],
        )
      ).map((r) => [r.status, Number(r.n)]),
    );
    const shown = async () =>
      Promise.all(slugs.map(async ([slug]) => Number(((await page.getByTestId(`count-${slug}`).textContent()) ?? '').replace(/[^\d]/g, ''))));
    const deadline = Date.now() + 30_000;
    let counts = await shown();
    while (slugs.some(([, status], i) => counts[i] !== (expected.get(status) ?? 0)) && Date.now() < deadline) {
      await sleep(250);
      counts = await shown();
    }
    if (slugs.some(([, status], i) => counts[i] !== (expected.get(status) ?? 0))) {
      throw new Error(`the page's tab counts ${JSON.stringify(counts)} never reached the database's ${JSON.stringify(Object.fromEntries(expected))}`);
    }
    const rows = await page.locator('[data-testid="device-row"]').count();
    checks.push(
      `the page showed ${rows} rows, raised no error, and its five tab counts ended equal to the database's (${counts.map((n) => n.toLocaleString('en-US')).join(' / ')})`,
    );
    await context.close();
    return {
      id: 'dashboard',
      title: '5. Dashboard',
      setup:
        `Chromium (${browser.version()}, ${CHROMIUM_ARGS.join(' ')}) opens the details page of a ${sizes.tasks.toLocaleString('en-US')}-task job ` +
        `(a rollout in full swing) as an operator; first rows = navigation to the first device rows shown. Then ${sizes.liveSeconds} s of live updates, ` +
        `4 a second, each moving up to ${sizes.perTick} devices per step (To be Pushed → Pushed → In Progress → final).`,
      figures: [
        figure('time to the first rows', 'ms', firstRowsMs),
        figure(`long tasks (> 50 ms) during ${sizes.liveSeconds} s of live updates`, '', longTasks, { text: '0 after the first render', met: (m) => m === 0 }),
        figure('longest long task', 'ms', longestMs),
        figure('task changes per second shown live', '/s', changesPerSecond),
      ],
      checks,
      notes: [],
    };
  } finally {
    await browser.close();
    await updraft.close();
    await database.drop();
  }
}
