/**
 * The job details page on fixed data (demo seed, engine off): searching Upgrade Failed by reason and
 * time range, deep links that restore tab and searches, the edit form's enabled fields, and what a
 * caller without a permission sees.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { sql } from 'drizzle-orm';
import { createVerificationJob } from '@updraft/server/domain/jobs/create.js';
import { queryRows } from '@updraft/server/db/sql.js';
import { inTransaction } from '@updraft/server/domain/transaction.js';
import { browserAndServerPerFile, globalId, jobUrl, openConsole, OPERATOR } from './support/console.js';
import { DEMO_JOBS, demoJobId, startDemoServer } from './support/demo.js';

const env = browserAndServerPerFile(startDemoServer);

const rowKeys = (page: Page) => page.locator('[data-testid="device-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-device-key')!));

/** Minute-precision local time for <input type="datetime-local"> (the browser runs in UTC). */
const minuteInput = (d: Date) => d.toISOString().slice(0, 16);

describe('Upgrade Failed search', () => {
  it('finds the failed devices of one reason within a time range, and puts the search in the URL', async () => {
    const job = await demoJobId(env.ts, DEMO_JOBS.running);
    const rawId = Buffer.from(job, 'base64').toString().split(':')[1];
    const failures = await queryRows<{ device_key: string; failure_reason: string; failed_at: Date | string }>(
      env.ts.server.services.db,
      sql`select device_key, failure_reason, failed_at from job_tasks where job_id = ${rawId} and status = 'FAILED' order by failed_at`,
    );
    const reason = 'DOWNLOAD_FAILED';
    const ofReason = failures.filter((f) => f.failure_reason === reason).map((f) => ({ key: f.device_key, at: new Date(f.failed_at) }));
    expect(ofReason.length).toBeGreaterThan(2);
    // A range that keeps some of the reason's failures and leaves out at least one, on minute boundaries.
    const from = new Date(Math.ceil(ofReason[1].at.getTime() / 60_000) * 60_000 - 60_000);
    const to = new Date(from.getTime() + 20 * 60_000);
    const expected = ofReason
      .filter((f) => f.at >= from && f.at < to)
      .map((f) => f.key)
      .sort();
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(ofReason.length);

    const { page, pageErrors, context } = await openConsole(env.browser, env.ts, { permissions: OPERATOR, timezoneId: 'UTC' });
    await page.goto(jobUrl(env.ts, job));
    await page.getByTestId('tab-failed').click();
    await page.getByTestId('search-reason').selectOption(reason);
    await page.waitForFunction(() => new URL(location.href).searchParams.get('reason') === 'DOWNLOAD_FAILED');
    await page.getByTestId('search-failed-after').fill(minuteInput(from));
    await page.getByTestId('search-failed-before').fill(minuteInput(to));
    await page.getByTestId('search-failed-before').press('Tab');
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid="device-row"]').length === n && !document.querySelector('table.stale'),
      expected.length,
    );
    expect((await rowKeys(page)).sort()).toEqual(expected);
    for (const text of await page.getByTestId('failure-reason').allTextContents()) expect(text).toBe('Firmware download failed');

    const url = new URL(page.url());
    expect(url.searchParams.get('tab')).toBe('failed');
    expect(url.searchParams.get('reason')).toBe(reason);
    expect(new Date(url.searchParams.get('failedAfter')!).getTime()).toBe(from.getTime());
    expect(new Date(url.searchParams.get('failedBefore')!).getTime()).toBe(to.getTime());
    expect(pageErrors).toEqual([]);
    await context.close();
  });
});

describe('a deep link', () => {
  it('opens the same tab with the same searches', async () => {
    const job = await demoJobId(env.ts, DEMO_JOBS.running);
    const { page, context } = await openConsole(env.browser, env.ts, { permissions: OPERATOR });
    await page.goto(jobUrl(env.ts, job, 'tab=failed&reason=TIMEOUT&q=meter-01'));
    await page.getByTestId('device-row').first().waitFor();
    expect(await page.getByTestId('tab-failed').getAttribute('aria-selected')).toBe('true');
    expect(await page.getByTestId('search-reason').inputValue()).toBe('TIMEOUT');
    expect(await page.getByTestId('search-device-key').inputValue()).toBe('meter-01');
    const keys = await rowKeys(page);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key).toContain('meter-01');
    for (const text of await page.getByTestId('failure-reason').allTextContents()) expect(text).toBe('Upgrade timeout');

    // The same link in another tab of the browser shows the same rows.
    const second = await context.newPage();
    await second.goto(page.url());
    await second.getByTestId('device-row').first().waitFor();
    expect(await rowKeys(second)).toEqual(keys);

    // Another tab's link: In Progress, with the key search kept and no failure searches.
    await page.getByTestId('tab-in-progress').click();
    await page.waitForFunction(() => new URL(location.href).searchParams.get('tab') === 'in-progress');
    const url = new URL(page.url());
    expect(url.searchParams.get('q')).toBe('meter-01');
    expect(url.searchParams.get('reason')).toBeNull();
    await context.close();
  });
});

describe('the edit form', () => {
  /** The named controls of the edit form that are enabled, and those that are disabled. */
  async function controls(page: Page) {
    const form = page.getByTestId('job-edit-form');
    await form.waitFor();
    return form.locator('input[name], select[name], textarea[name]').evaluateAll((elements) => {
      const enabled = new Set<string>();
      const disabled = new Set<string>();
      for (const e of elements as HTMLInputElement[]) (e.disabled ? disabled : enabled).add(e.name);
      return { enabled: [...enabled].sort(), disabled: [...disabled].sort() };
    });
  }

  it('of an upgrade job enables every setting and never the type, name, product or firmware', async () => {
    const { page, context } = await openConsole(env.browser, env.ts, { permissions: OPERATOR });
    await page.goto(jobUrl(env.ts, await demoJobId(env.ts, DEMO_JOBS.running)));
    await page.getByTestId('edit-job').click();
    expect(await page.getByTestId('edit-job').textContent()).toBe('Upgrade Job');
    const { enabled, disabled } = await controls(page);
    // The demo job has an abort threshold and no schedule: the schedule's own inputs wait for its switch.
    expect(enabled).toEqual(
      [
        'abort',
        'abortMinFinished',
        'abortPercent',
        'maxConcurrency',
        'policy',
        'pushRatePerMinute',
        'retryCount',
        'retryIntervalMinutes',
        'scheduled',
        'scope',
        'srcVersions',
        'tags',
        'timeoutMinutes',
      ].sort(),
    );
    expect(disabled).toEqual(['dailyWindowEnd', 'dailyWindowStart', 'endAt', 'firmware', 'name', 'product', 'startAt', 'timezone', 'type'].sort());
    await context.close();
  });

  it('of a finished verification job enables only the versions, the devices and the timeout', async () => {
    const { page, context } = await openConsole(env.browser, env.ts, { permissions: OPERATOR });
    await page.goto(jobUrl(env.ts, await demoJobId(env.ts, DEMO_JOBS.verified)));
    expect(await page.getByTestId('edit-job').textContent()).toBe('Verification Job');
    await page.getByTestId('edit-job').click();
    const { enabled, disabled } = await controls(page);
    expect(enabled).toEqual(['deviceKeys', 'srcVersions', 'timeoutMinutes']);
    expect(disabled).toEqual(['firmware', 'name', 'product', 'type']);
    await context.close();
  });

  it('of an executing verification job disables everything and says why', async () => {
    const [firmware] = await queryRows<{ id: string }>(env.ts.server.services.db, sql`select id from firmwares where version = '1.2.0'`);
    const job = await inTransaction(env.ts.server.services, (scope) =>
      createVerificationJob(scope, env.ts.server.adminCaller, { firmwareId: firmware.id, name: 'Verify again', deviceKeys: ['meter-0101', 'meter-0102'] }),
    );
    const { page, context } = await openConsole(env.browser, env.ts, { permissions: OPERATOR });
    await page.goto(jobUrl(env.ts, globalId('OtaJob', job.id)));
    await page.getByTestId('edit-job').click();
    const { enabled } = await controls(page);
    expect(enabled).toEqual([]);
    expect(await page.getByTestId('not-editable-reason').textContent()).toMatch(/executing/i);
    expect(await page.getByRole('button', { name: 'Save changes' }).isDisabled()).toBe(true);
    await context.close();
  });

  it('saves an accepted change and records it in the edit history', async () => {
    const { page, context } = await openConsole(env.browser, env.ts, { permissions: OPERATOR });
    await page.goto(jobUrl(env.ts, await demoJobId(env.ts, DEMO_JOBS.stopped)));
    await page.getByTestId('edit-job').click();
    await page.getByTestId('job-edit-form').locator('input[name=maxConcurrency]').fill('25');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Saved: Max concurrency changed.').waitFor();
    await page.getByTestId('edit-history').getByText('Max concurrency').waitFor();
    await context.close();
  });
});

describe('permissions', () => {
  it('a user without OTA_READ is told which permission is missing and whom to ask', async () => {
    const { page, context } = await openConsole(env.browser, env.ts, { permissions: ['FIRMWARE_READ', 'DEVICE_READ'] });
    await page.goto(`${env.ts.server.url}/jobs`);
    const notice = page.getByTestId('permission-page');
    await notice.waitFor();
    expect(await notice.locator('.permission-name').textContent()).toBe('OTA_READ');
    expect(await notice.textContent()).toMatch(/administrator of your organisation unit/);
    // A deep link to a job says the same, and shows no job data.
    await page.goto(jobUrl(env.ts, await demoJobId(env.ts, DEMO_JOBS.running)));
    await notice.waitFor();
    expect(await page.getByTestId('job-name').count()).toBe(0);
    // What the user may read still works.
    await page.goto(`${env.ts.server.url}/devices`);
    await page.getByTestId('devices-table').waitFor();
    await context.close();
  });

  it('a read-only user sees the job but no control it may not use', async () => {
    const { page, context } = await openConsole(env.browser, env.ts, { permissions: ['OTA_READ', 'FIRMWARE_READ', 'DEVICE_READ'] });
    await page.goto(jobUrl(env.ts, await demoJobId(env.ts, DEMO_JOBS.running), 'tab=pushed'));
    await page.getByTestId('device-row').first().waitFor();
    expect(await page.getByRole('button', { name: 'Cancel Upgrade' }).count()).toBe(0);
    expect(await page.getByTestId('device-row').first().getByRole('checkbox').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Stop' }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Cancel job' }).isDisabled()).toBe(true);
    await page.getByTestId('edit-job').click();
    const form = page.getByTestId('job-edit-form');
    expect(await form.locator('input:enabled, select:enabled, textarea:enabled').count()).toBe(0);
    await form.getByText('needs the OTA_CONTROL permission').waitFor();
    await page.goto(`${env.ts.server.url}/firmware`);
    await page.getByTestId('firmware-table').waitFor();
    expect(await page.getByRole('button', { name: 'Upload firmware' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    await context.close();
  });
});
