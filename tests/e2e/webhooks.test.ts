/**
 * The webhooks administration pages against a real server and a real receiver on 127.0.0.1 that
 * verifies every delivery with the standardwebhooks library: an endpoint created in the form shows
 * its secret once and the receiver verifies with it; a test event's delivery is in the log with its
 * attempt, answer and signed body; redeliver sends it again under the same webhook-id; during a
 * rotation both secrets sign; a refused URL is said next to its field; disable and enable; the page
 * is there only with WEBHOOK_ADMIN (or OU_ADMIN). SCREENSHOT_DIR=… keeps pictures at 1440 and 390 px.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { seedDemo } from '@updraft/server/seed/demo.js';
import { startTestServer } from '../support/server.js';
import { eventually, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { browserAndServerPerFile, openConsole } from './support/console.js';

let receiver: WebhookReceiver;
const env = browserAndServerPerFile(async () => {
  const ts = await startTestServer({ engineEnabled: false, webhookAllowedTargets: ['127.0.0.1'], webhookPollMs: 100, webhookTimeoutMs: 2000 });
  await seedDemo(ts.server.services, ts.server.adminCaller, 20);
  receiver = await startWebhookReceiver();
  return ts;
});

afterAll(() => receiver?.close());

const shot = async (page: Page, name: string) => {
  if (process.env.SCREENSHOT_DIR) await page.screenshot({ path: path.join(process.env.SCREENSHOT_DIR, `${name}.png`), fullPage: true });
};

const tests = () => receiver.received.filter((r) => r.payload.type === 'webhook.test');

describe('webhooks administration', () => {
  it('creates an endpoint, shows its secret once, logs and redelivers a signed delivery, rotates, disables', { timeout: 120_000 }, async () => {
    const { page, context, pageErrors } = await openConsole(env.browser, env.ts, { permissions: ['WEBHOOK_ADMIN', 'OTA_READ'] });
    await page.goto(`${env.ts.server.url}/jobs`);
    // The Administration group holds only what this caller may open.
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.waitForURL(/\/admin\/webhooks$/);
    expect(await page.getByRole('link', { name: 'Users' }).count()).toBe(0);

    await page.getByRole('button', { name: 'New endpoint' }).click();
    const form = page.getByTestId('webhook-form');
    await form.locator('input[name=name]').fill('Ticketing');
    await form.locator('input[name=url]').fill('ftp://example.com/x');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    expect(await page.getByTestId('error-url').textContent()).toMatch(/http/);
    // Every event is chosen by default; a receiver on a private address the server does not allow is refused by the API.
    expect(await form.locator('input[name=eventTypes]:checked').count()).toBe(6);
    await form.locator('input[name=url]').fill('http://10.1.2.3/hooks');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    await expect.poll(() => page.getByTestId('error-url').textContent()).toMatch(/private|allow/i);
    await form.locator('input[name=url]').fill(receiver.url);
    await form.locator('select[name=productId]').selectOption({ label: 'Smart Meter M2 (demo-meter)' });
    await page.getByRole('button', { name: 'Create endpoint' }).click();

    const secret = await page.getByTestId('webhook-secret').locator('input').inputValue();
    expect(secret).toMatch(/^whsec_/);
    receiver.secrets.push(secret);
    const row = page.getByTestId('webhook-row').filter({ hasText: 'Ticketing' });
    expect(await row.getByTestId('endpoint-status').getAttribute('data-status')).toBe('ACTIVE');
    expect(await row.textContent()).toContain('Only product Smart Meter M2');
    await shot(page, 'webhooks-1440');

    await row.getByRole('button', { name: 'Send test' }).click();
    await page.getByTestId('admin-notice').waitFor();
    const first = await eventually(() => tests()[0], 'the test event');
    expect(first.verifiedWith).toEqual([0]);

    // The delivery log: the test delivery, its attempt and the body exactly as signed.
    await row.getByRole('link', { name: 'Ticketing' }).click();
    await page.waitForURL(/\/admin\/webhooks\/.+/);
    const delivery = page.getByTestId('delivery-row').and(page.locator('[data-event="webhook.test"]'));
    await delivery.and(page.locator('[data-status="SUCCEEDED"]')).waitFor();
    expect(await delivery.textContent()).toContain('HTTP 204');
    await delivery.getByRole('button', { name: 'Details' }).click();
    await page.getByTestId('attempt-log').waitFor();
    expect(await page.getByTestId('attempt-log').locator('tbody tr').count()).toBe(1);
    expect(JSON.parse((await page.getByTestId('delivery-payload').textContent()) ?? '')).toEqual(JSON.parse(first.body));
    await shot(page, 'webhook-deliveries-1440');

    await delivery.getByRole('button', { name: 'Redeliver' }).click();
    await page.getByTestId('admin-notice').waitFor();
    const again = await eventually(() => tests()[1], 'the redelivery');
    expect(again.id).toBe(first.id);
    expect(again.verifiedWith).toEqual([0]);
    await expect.poll(() => delivery.count(), { timeout: 15_000 }).toBe(2);

    // Rotation: the new secret is shown once; during the overlap both secrets sign.
    await page.getByRole('link', { name: 'Webhooks' }).first().click();
    await page.waitForURL(/\/admin\/webhooks$/);
    await row.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByTestId('rotate-form').locator('input[name=overlapMinutes]').fill('60');
    await page.getByRole('button', { name: 'Rotate secret' }).last().click();
    const rotated = await page.getByTestId('webhook-secret').locator('input').inputValue();
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);
    expect(await page.getByTestId('webhook-secret').textContent()).toContain('previous secret signs too until');
    receiver.secrets.push(rotated);
    await row.getByRole('button', { name: 'Send test' }).click();
    const during = await eventually(() => tests()[2], 'a test event during the rotation');
    expect(during.verifiedWith).toEqual([0, 1]);

    // Disabled: nothing is sent, and the page says so; enabled again.
    await row.getByRole('button', { name: 'Disable' }).click();
    await expect.poll(() => row.getByTestId('endpoint-status').getAttribute('data-status')).toBe('DISABLED');
    expect(await row.getByRole('button', { name: 'Send test' }).isDisabled()).toBe(true);
    await row.getByRole('button', { name: 'Enable' }).click();
    await expect.poll(() => row.getByTestId('endpoint-status').getAttribute('data-status')).toBe('ACTIVE');

    // Edit: only the chosen events from then on.
    await row.getByRole('button', { name: 'Edit' }).click();
    for (const type of ['job.progress', 'job.created']) await form.locator(`input[name=eventTypes][value="${type}"]`).uncheck();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('admin-notice').waitFor();
    await expect.poll(() => row.textContent()).not.toContain('job.progress');

    // A phone's width: the same page, nothing cut off.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await row.waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot(page, 'webhooks-390');
    await row.getByRole('link', { name: 'Ticketing' }).click();
    await page.getByTestId('deliveries-table').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot(page, 'webhook-deliveries-390');
    expect(pageErrors).toEqual([]);
    await context.close();
  });

  it('is not offered without WEBHOOK_ADMIN or OU_ADMIN, and names the permission', async () => {
    const { page, context } = await openConsole(env.browser, env.ts, { permissions: ['OTA_READ'] });
    await page.goto(`${env.ts.server.url}/jobs`);
    await page.getByTestId('jobs-table').waitFor();
    expect(await page.getByRole('link', { name: 'Webhooks' }).count()).toBe(0);
    await page.goto(`${env.ts.server.url}/admin/webhooks`);
    expect(await page.getByTestId('permission-page').locator('.permission-name').textContent()).toBe('WEBHOOK_ADMIN');
    await context.close();
  });
});
