/**
 * Export CSV on a job's tab and on the Devices page: the file downloaded from the button holds every
 * device of the search shown (not only the page on screen).
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { queryRows } from '@updraft/server/db/sql.js';
import { browserAndServerPerFile, jobUrl, openConsole, OPERATOR } from './support/console.js';
import { DEMO_JOBS, demoJobId, startDemoServer } from './support/demo.js';

const env = browserAndServerPerFile(startDemoServer);

const dataLines = (text: string) =>
  text
    .replace(/^\uFEFF/, '')
    .trimEnd()
    .split('\r\n')
    .slice(1);

describe('Export CSV', () => {
  it('downloads the whole search of a job tab, beyond the page shown', async () => {
    const job = await demoJobId(env.ts, DEMO_JOBS.running);
    const [expected] = await queryRows<{ n: number }>(
      env.ts.server.services.db,
      sql`select count(*)::int as n from job_tasks where job_id = ${Buffer.from(job, 'base64').toString().split(':')[1]} and status = 'TO_BE_PUSHED'`,
    );
    expect(expected.n).toBeGreaterThan(50);
    const { page, context, pageErrors } = await openConsole(env.browser, env.ts, { permissions: OPERATOR });
    await page.goto(jobUrl(env.ts, job, 'tab=to-be-pushed&size=50'));
    await page.getByTestId('device-row').first().waitFor();
    expect(await page.getByTestId('device-row').count()).toBe(50);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-tab').click()]);
    expect(download.suggestedFilename()).toBe('Roll-out-1.2.0-to-the-fleet-To-be-Pushed.csv');
    const lines = dataLines(await readFile((await download.path())!, 'utf8'));
    expect(lines).toHaveLength(expected.n);
    expect(lines.every((l) => l.includes(',To be Pushed,'))).toBe(true);

    // With a device-key search: only the matches.
    await page.goto(jobUrl(env.ts, job, 'tab=to-be-pushed&q=meter-02'));
    await page.getByTestId('device-row').first().waitFor();
    const [searched] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-tab').click()]);
    const matches = dataLines(await readFile((await searched.path())!, 'utf8'));
    expect(matches.length).toBeGreaterThan(0);
    expect(matches.every((l) => l.split(',')[0].includes('meter-02'))).toBe(true);
    expect(pageErrors).toEqual([]);
    await context.close();
  });

  it('downloads the Devices page with its filters', async () => {
    const { page, context } = await openConsole(env.browser, env.ts, { permissions: OPERATOR });
    await page.goto(`${env.ts.server.url}/devices?q=meter-01`);
    await page.getByTestId('fleet-device-row').first().waitFor();
    const shown = await page.getByTestId('fleet-device-row').count();
    const [matching] = await queryRows<{ n: number }>(
      env.ts.server.services.db,
      sql`select count(*)::int as n from devices where device_key like '%meter-01%'`,
    );
    // More than the page shows: the file has them all.
    expect(matching.n).toBeGreaterThan(shown);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-devices').click()]);
    const lines = dataLines(await readFile((await download.path())!, 'utf8'));
    expect(lines).toHaveLength(matching.n);
    expect(lines.every((l) => l.split(',')[1].includes('meter-01'))).toBe(true);
    await context.close();
  });
});
