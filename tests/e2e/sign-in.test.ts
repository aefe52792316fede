/**
 * Signing in through the page: with an account or with an API token, coming back to the page the
 * operator asked for; a wrong password is refused with the API's message; signing out ends it.
 */
import { describe, expect, it } from 'vitest';
import { browserAndServerPerFile, OPERATOR } from './support/console.js';
import { startDemoServer } from './support/demo.js';

const env = browserAndServerPerFile(startDemoServer);

describe('signing in', () => {
  it('with an account returns to the requested page; signing out ends the session', async () => {
    const user = await env.ts.createUser({ permissions: OPERATOR, password: 'correct horse battery' });
    const context = await env.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${env.ts.server.url}/devices?q=meter-00`);
    await page.waitForURL(/\/sign-in\?next=/);

    await page.fill('input[name=username]', user.username);
    await page.fill('input[name=password]', 'not the password');
    await page.click('button[type=submit]');
    expect(await page.getByTestId('sign-in-error').textContent()).toBeTruthy();
    expect(page.url()).toContain('/sign-in');

    await page.fill('input[name=password]', 'correct horse battery');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/devices\?q=meter-00$/);
    await page.getByTestId('devices-table').waitFor();
    expect(await page.getByTestId('current-user').textContent()).toContain(user.username);
    // The session lives in an HttpOnly cookie: page scripts cannot read it.
    expect(await page.evaluate(() => document.cookie)).not.toContain('updraft_session');
    await page.getByTestId('live-indicator').and(page.locator('[data-state="live"]')).waitFor();

    await page.getByTestId('sign-out').click();
    await page.waitForURL(/\/sign-in$/);
    await page.goto(`${env.ts.server.url}/jobs`);
    await page.waitForURL(/\/sign-in\?next=/);
    await context.close();
  });

  it('with an API token acts with that token', async () => {
    const user = await env.ts.createUser({ permissions: ['OTA_READ'] });
    const context = await env.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${env.ts.server.url}/sign-in`);
    await page.getByRole('tab', { name: 'API token' }).click();
    await page.fill('input[name=token]', user.token);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/jobs$/);
    await page.getByTestId('jobs-table').waitFor();
    // The token may read jobs only: the firmware page names the permission it lacks.
    await page.goto(`${env.ts.server.url}/firmware`);
    expect(await page.getByTestId('permission-page').locator('.permission-name').textContent()).toBe('FIRMWARE_READ');
    await context.close();
  });
});
