/**
 * How the dashboard behaves on a job of 100,000 devices, measured in Debian's Chromium:
 *   - time to first rows when the job details page opens, when a tab is switched, a page turned, a key searched;
 *   - long tasks (> 50 ms, PerformanceObserver 'longtask') and long frames while the job moves fast.
 * The job moves as device reports would move it: the engine's own bulk task writes (writeTaskChanges)
 * and job events, up to 6,000 task changes a second, in device-key order so the visible rows change.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres pnpm --filter @updraft/tests measure:dashboard [devices] [seconds]
 *
 * Prints the figures as JSON (docs/dashboard.md keeps the last ones). Build the dashboard first.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { sql } from 'drizzle-orm';

import { registerDevices } from '@updraft/server/domain/devices.js';
import { uploadFirmware } from '@updraft/server/domain/firmware.js';
import { createUpgradeJob } from '@updraft/server/domain/jobs/create.js';
import { jobEvents } from '@updraft/server/domain/jobs/events.js';
import { createProduct } from '@updraft/server/domain/products.js';
import { queryRows } from '@updraft/server/db/sql.js';
import { inTransaction } from '@updraft/server/domain/transaction.js';
import { changesByJob, type TaskChange, writeTaskChanges } from '@updraft/server/domain/tasks/write.js';
import { startTestServer } from '../support/server.js';
import { globalId, jobUrl, launchChromium, openConsole, OPERATOR } from './support/console.js';

const DEVICES = Number(process.argv[2] ?? 100_000);
const LIVE_SECONDS = Number(process.argv[3] ?? 40);
/** Per 250 ms step and per transition (push, first progress, result): up to 6,000 task changes a second. */
const CHANGES_PER_TICK = 500;
if (!process.env.DATABASE_URL) console.warn('DATABASE_URL is not set: measuring against in-memory PGlite, not PostgreSQL');

const ts = await startTestServer({ engineEnabled: false });
const browser = await launchChromium();
const { services, adminCaller: caller } = ts.server;
const figures: Record<string, unknown> = { devices: DEVICES, chromium: browser.version() };
const started = Date.now();
try {
  // ── the job ──────────────────────────────────────────────────────────────────────────────
  await createProduct(services.db, caller, { productKey: 'bench', name: 'Bench meter', description: '' });
  for (let i = 0; i < DEVICES; i += 10_000) {
    const devices = Array.from({ length: Math.min(10_000, DEVICES - i) }, (_, j) => ({
      deviceKey: `m-${String(i + j).padStart(6, '0')}`,
      firmwareVersion: '1.0.0',
    }));
    await inTransaction(services, (scope) => registerDevices(scope, caller, { productKey: 'bench', devices }));
  }
  const firmware = await uploadFirmware(services, caller, {
    productKey: 'bench',
    name: 'fw 2',
    version: '2.0.0',
    signMethod: 'SHA256',
    description: '',
    requireVerification: false,
    file: { name: 'fw.bin', stream: Readable.from([randomBytes(1024)]) },
  });
  const job = await inTransaction(services, (scope) =>
    createUpgradeJob(scope, caller, {
      firmwareId: firmware.id,
      name: `Roll out 2.0.0 to ${DEVICES} meters`,
      scope: { allDevices: true },
      maxConcurrency: 100_000,
    }),
  );
  figures.setupSeconds = Math.round((Date.now() - started) / 1000);

  // ── the browser ──────────────────────────────────────────────────────────────────────────
  const { page, context } = await openConsole(browser, ts, { permissions: OPERATOR });
  // A string, not a function: tsx would wrap named functions in a helper the page does not have.
  await context.addInitScript(`
    window.__longTasks = [];
    window.__frames = [];
    new PerformanceObserver((list) => list.getEntries().forEach((e) => window.__longTasks.push(e.duration))).observe({ type: 'longtask', buffered: true });
    let last = performance.now();
    const frame = (now) => { window.__frames.push(now - last); last = now; requestAnimationFrame(frame); };
    requestAnimationFrame(frame);
  `);
  const rowsVisible = async (action: () => Promise<unknown>, expectKey?: string) => {
    const t0 = Date.now();
    await action();
    await page
      .waitForFunction(
        (key) => {
          const rows = document.querySelectorAll('[data-testid="device-row"]');
          return rows.length > 0 && !document.querySelector('table.stale') && (!key || rows[0].getAttribute('data-device-key')?.includes(key));
        },
        expectKey,
        { polling: 'raf', timeout: 60_000 },
      )
      .catch(async (error) => {
        await page.screenshot({ path: '/tmp/shots/measure-fail.png' });
        throw error;
      });
    return Date.now() - t0;
  };
  const url = jobUrl(ts, globalId('OtaJob', job.id));
  figures.firstRowsColdMs = await rowsVisible(() => page.goto(url));
  figures.firstRowsWarmMs = await rowsVisible(() => page.goto(url));
  figures.rowsInDomPerPage = await page.locator('[data-testid="device-row"]').count();
  figures.nextPageMs = await rowsVisible(() => page.getByRole('button', { name: 'Next ›' }).click(), 'm-0001');
  const lastKey = `m-${String(DEVICES - 1).padStart(6, '0')}`;
  figures.searchDeviceKeyMs = await rowsVisible(async () => {
    await page.getByTestId('search-device-key').fill(lastKey);
    await page.getByTestId('search-device-key').press('Enter');
  }, lastKey);

  // ── live updates ─────────────────────────────────────────────────────────────────────────
  await page.goto(jobUrl(ts, globalId('OtaJob', job.id), 'tab=in-progress'));
  await page.getByTestId('device-table').waitFor();
  await page.evaluate(() => {
    const w = window as unknown as { __longTasks: number[]; __frames: number[] };
    w.__longTasks = [];
    w.__frames = [];
  });

  const ids = (status: string, limit: number) =>
    queryRows<{ id: string | number }>(
      services.db,
      sql`select id from job_tasks where job_id = ${job.id} and status = ${status}::upgrade_status order by device_key limit ${limit}`,
    ).then((r) => r.map((x) => Number(x.id)));
  let changes = 0;
  let tick = 0;
  const liveEnd = Date.now() + LIVE_SECONDS * 1000;
  while (Date.now() < liveEnd) {
    const tickStart = Date.now();
    if (tick === Math.floor((LIVE_SECONDS * 4) / 2)) void page.getByTestId('tab-succeeded').click();
    const [toPush, toStart, toFinish] = await Promise.all([
      ids('TO_BE_PUSHED', CHANGES_PER_TICK),
      ids('PUSHED', CHANGES_PER_TICK),
      ids('IN_PROGRESS', CHANGES_PER_TICK),
    ]);
    await inTransaction(services, async (scope) => {
      const reports: TaskChange[] = [
        ...toPush.map((id) => ({
          id,
          jobId: job.id,
          from: 'TO_BE_PUSHED' as const,
          update: { kind: 'pushed' as const, messageId: `bench-${id}`, timeoutMs: 3_600_000 },
        })),
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
      ];
      const written = await writeTaskChanges(scope.tx, reports);
      changes += written.length;
      const changed = changesByJob(written).get(job.id);
      if (changed) for (const event of jobEvents(job, 'bench reports', changed)) scope.emit(event);
    });
    tick++;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 250 - (Date.now() - tickStart))));
  }
  const live = await page.evaluate(() => {
    const w = window as unknown as { __longTasks: number[]; __frames: number[] };
    return { longTasks: w.__longTasks, frames: w.__frames };
  });
  const sorted = [...live.frames].sort((a, b) => a - b);
  figures.live = {
    seconds: LIVE_SECONDS,
    taskChanges: changes,
    changesPerSecond: Math.round(changes / LIVE_SECONDS),
    longTasksOver50ms: live.longTasks.length,
    longTaskMaxMs: Math.round(Math.max(0, ...live.longTasks)),
    longTaskTotalMs: Math.round(live.longTasks.reduce((a, b) => a + b, 0)),
    frames: live.frames.length,
    framesOver50ms: live.frames.filter((f) => f > 50).length,
    frameP50Ms: Math.round(sorted[Math.floor(sorted.length * 0.5)] ?? 0),
    frameP99Ms: Math.round(sorted[Math.floor(sorted.length * 0.99)] ?? 0),
  };
  figures.rowsInDomAfterLiveInserts = await page.locator('[data-testid="device-row"]').count();
  figures.counts = Object.fromEntries(
    await Promise.all(
      ['to-be-pushed', 'pushed', 'in-progress', 'succeeded', 'failed'].map(async (slug) => [
        slug,
        (await page.getByTestId(`count-${slug}`).textContent())?.trim(),
      ]),
    ),
  );
  figures.heapMB = await page.evaluate(() =>
    Math.round(((performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0) / 1e6),
  );
  await context.close();
  console.log(JSON.stringify(figures, null, 2));
} finally {
  await browser.close();
  await ts.close();
}
