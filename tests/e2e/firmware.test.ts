/**
 * The Firmware page: upload with a progress bar, Verify on chosen devices, Batch Upgrade with its
 * settings, and the API's refusals shown with their messages (a firmware in use cannot be deleted,
 * a duplicate version cannot be uploaded).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { queryRows } from '@updraft/server/db/sql.js';
import { browserAndServerPerFile, openConsole, OPERATOR } from './support/console.js';
import { startDemoServer } from './support/demo.js';

const env = browserAndServerPerFile(startDemoServer);

describe('the Firmware page', () => {
  it('uploads a file with a progress bar, then verifies it on chosen devices', async () => {
    const { page, pageErrors, context } = await openConsole(env.browser, env.ts, { permissions: OPERATOR });
    await page.goto(`${env.ts.server.url}/firmware`);
    await page.getByTestId('firmware-table').waitFor();
    await page.getByRole('button', { name: 'Upload firmware' }).click();
    const form = page.getByTestId('upload-form');
    await form.locator('input[name=name]').fill('Meter firmware 3.0');
    await form.locator('input[name=version]').fill('3.0.0');
    await form
      .locator('input[name=file]')
      .setInputFiles({ name: 'meter-3.0.0.bin', mimeType: 'application/octet-stream', buffer: randomBytes(2 * 1024 * 1024) });
    await form.getByRole('button', { name: 'Upload' }).click();
    await page.getByTestId('upload-progress').waitFor();
    await page.getByTestId('firmware-notice').getByText('Firmware “Meter firmware 3.0” (3.0.0) uploaded.').waitFor();
    const row = page.locator('[data-testid="firmware-row"][data-firmware="Meter firmware 3.0"]');
    await row.getByText('Needs verification').waitFor();
    const [stored] = await queryRows<{ size: string | number }>(env.ts.server.services.db, sql`select size from firmwares where version = '3.0.0'`);
    expect(Number(stored.size)).toBe(2 * 1024 * 1024);

    // Uploading the same version again is refused, with the API's message.
    await page.getByRole('button', { name: 'Upload firmware' }).click();
    await form.locator('input[name=name]').fill('Meter firmware 3.0 again');
    await form.locator('input[name=version]').fill('3.0.0');
    await form.locator('input[name=file]').setInputFiles({ name: 'again.bin', mimeType: 'application/octet-stream', buffer: randomBytes(1024) });
    await form.getByRole('button', { name: 'Upload' }).click();
    expect(await page.getByTestId('upload-error').textContent()).toMatch(/3\.0\.0/);
    await form.getByRole('button', { name: 'Close' }).click();

    // Verify: pick two devices from the fleet.
    await row.getByRole('button', { name: 'Verify' }).click();
    const verify = page.getByTestId('verify-form');
    const picker = verify.getByTestId('device-picker');
    await picker.getByRole('searchbox').fill('meter-012');
    await picker.locator('label', { hasText: 'meter-0121' }).getByRole('checkbox').check();
    await picker.locator('label', { hasText: 'meter-0122' }).getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Create verification job' }).click();
    await page.waitForURL(/\/jobs\/[^/?]+$/);
    await page.getByTestId('job-name').getByText('Verify 3.0.0').waitFor();
    expect(await page.getByTestId('device-count').textContent()).toBe('2');
    expect(await page.getByTestId('edit-job').textContent()).toBe('Verification Job');
    expect(pageErrors).toEqual([]);
    await context.close();
  });

  it('creates a batch upgrade with its settings; Delete is then disabled, saying the firmware is in use', async () => {
    const { page, context } = await openConsole(env.browser, env.ts, { permissions: OPERATOR });
    await page.goto(`${env.ts.server.url}/firmware`);
    const row = page.locator('[data-testid="firmware-row"][data-firmware="Meter firmware 1.1"]');
    await row.getByRole('button', { name: 'Batch Upgrade' }).click();
    const form = page.getByTestId('batch-upgrade-form');
    await form.locator('input[name=name]').fill('Batch B to 1.1.0');
    await form.locator('input[name=tags]').fill('batch=B');
    await form.locator('input[name=srcVersions]').fill('1.0.0');
    await form.locator('input[name=maxConcurrency]').fill('40');
    await form.locator('input[name=retryCount]').fill('2');
    await form.locator('input[name=abort]').check();
    await form.locator('input[name=abortPercent]').fill('15');
    await page.getByRole('button', { name: 'Create upgrade job' }).click();
    await page.waitForURL(/\/jobs\/[^/?]+$/);
    await page.getByTestId('job-name').getByText('Batch B to 1.1.0').waitFor();
    const settings = page.getByTestId('job-settings');
    await settings.getByText('All devices of the product with tags batch=B').waitFor();
    await settings.getByText('Stop at 15% failed after 10 finished').waitFor();
    const [job] = await queryRows<{ max_concurrency: number; retry_count: number }>(
      env.ts.server.services.db,
      sql`select max_concurrency, retry_count from ota_jobs where name = 'Batch B to 1.1.0'`,
    );
    expect(job).toMatchObject({ max_concurrency: 40, retry_count: 2 });

    // A delete that can only be refused is not offered: the button is disabled and says why, and
    // the jobs that need the firmware are named in its row.
    await page.goto(`${env.ts.server.url}/firmware`);
    const del = row.getByRole('button', { name: 'Delete' });
    await del.waitFor();
    expect(await del.isDisabled()).toBe(true);
    const reasonId = await del.getAttribute('aria-describedby');
    expect(await page.locator(`[id="${reasonId}"]`).textContent()).toMatch(/in use/i);
    await row.getByText('Batch B to 1.1.0').waitFor();
    await context.close();
  });
});
