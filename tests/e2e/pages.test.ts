/**
 * Every page of the console, at a phone's width (390 px) and a desktop's (1440 px): nothing scrolls
 * sideways, axe-core finds no serious or critical violation, no badge is clipped. Then the keyboard:
 * the job's tabs move with the arrow keys, a dialog keeps focus inside and closes on Escape, giving
 * focus back; and the sign-in page opens on the token tab when no one has a password.
 */
import { describe, expect, it } from 'vitest';
import axe from 'axe-core';
import type { Page } from 'playwright-core';
import { sql } from 'drizzle-orm';
import { queryRows } from '@updraft/server/db/sql.js';
import { DEMO_PRODUCT_KEY } from '@updraft/server/seed/demo.js';
import { uploadFirmware } from '../support/fixtures.js';
import { browserAndServerPerFile, jobUrl, openConsole, OPERATOR } from './support/console.js';
import { DEMO_JOBS, demoJobId, startDemoServer } from './support/demo.js';

const AXE_SOURCE = axe.source;
const env = browserAndServerPerFile(startDemoServer);

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

async function seriousViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: AXE_SOURCE });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: Document, options: object) => Promise<{ violations: Violation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} — ${v.nodes
          .map((n) => n.target.join(' '))
          .slice(0, 3)
          .join(', ')}`,
    );
}

/** How far the page scrolls sideways (0 when it does not). */
const sidewaysOverflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

/** The elements that reach furthest beyond the viewport's right edge, for the failure message. */
const widest = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('body *')]
      .map((e) => ({ e, right: e.getBoundingClientRect().right }))
      .filter((x) => x.right > document.documentElement.clientWidth + 1)
      .sort((a, b) => b.right - a.right)
      .slice(0, 4)
      .map((x) => `${x.e.tagName.toLowerCase()}.${[...x.e.classList].join('.')} to ${Math.round(x.right)}`)
      .join(', '),
  );

/** Badges whose text does not fit in them. */
const clippedBadges = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('.badge')].filter((b) => b.offsetParent !== null && b.scrollWidth > b.clientWidth + 1).map((b) => b.textContent),
  );

async function pages(): Promise<{ name: string; path: string; ready: string }[]> {
  const running = await demoJobId(env.ts, DEMO_JOBS.running);
  const [device] = await queryRows<{ device_key: string; product_key: string }>(
    env.ts.server.services.db,
    sql`select d.device_key, p.product_key from devices d join products p on p.id = d.product_id order by d.device_key limit 1`,
  );
  return [
    { name: 'OTA Jobs', path: '/jobs', ready: 'jobs-table' },
    { name: 'Job details, In Progress', path: jobUrl(env.ts, running, 'tab=in-progress').replace(env.ts.server.url, ''), ready: 'device-table' },
    { name: 'Job details, Upgrade Failed', path: jobUrl(env.ts, running, 'tab=failed').replace(env.ts.server.url, ''), ready: 'device-search' },
    { name: 'Firmware', path: '/firmware', ready: 'firmware-table' },
    { name: 'Devices', path: '/devices', ready: 'devices-table' },
    { name: 'Device', path: `/devices/${device.product_key}/${device.device_key}`, ready: 'device-history' },
    { name: 'Users', path: '/admin/users', ready: 'users-table' },
    { name: 'Roles', path: '/admin/roles', ready: 'roles-table' },
    { name: 'API tokens', path: '/admin/tokens', ready: 'tokens-table' },
    { name: 'Audit log', path: '/admin/audit', ready: 'audit-table' },
  ];
}

describe('every page', () => {
  for (const width of [390, 1440]) {
    it(`at ${width} px: no sideways scroll, no serious accessibility violation, no clipped badge`, { timeout: 240_000 }, async () => {
      const { page, context, pageErrors } = await openConsole(env.browser, env.ts, {
        permissions: [...OPERATOR, 'OU_ADMIN'],
        viewport: { width, height: 900 },
      });
      const problems: string[] = [];
      for (const p of await pages()) {
        await page.goto(`${env.ts.server.url}${p.path}`);
        await page.getByTestId(p.ready).first().waitFor({ timeout: 20_000 });
        await page.waitForTimeout(300);
        const overflow = await sidewaysOverflow(page);
        if (overflow > 0) problems.push(`${p.name}: scrolls ${overflow} px sideways (${await widest(page)})`);
        for (const v of await seriousViolations(page)) problems.push(`${p.name}: ${v}`);
        for (const b of await clippedBadges(page)) problems.push(`${p.name}: badge "${b}" is clipped`);
      }
      // Signed out: the sign-in page.
      const anonymous = await env.browser.newContext({ viewport: { width, height: 900 } });
      const signIn = await anonymous.newPage();
      await signIn.goto(`${env.ts.server.url}/sign-in`);
      await signIn.getByTestId('sign-in-form').waitFor();
      const overflow = await sidewaysOverflow(signIn);
      if (overflow > 0) problems.push(`Sign in: scrolls ${overflow} px sideways`);
      for (const v of await seriousViolations(signIn)) problems.push(`Sign in: ${v}`);
      await anonymous.close();
      expect(problems).toEqual([]);
      expect(pageErrors).toEqual([]);
      await context.close();
    });
  }

  it('at 390 px the sidebar is a menu that opens and closes', async () => {
    const { page, context } = await openConsole(env.browser, env.ts, { permissions: OPERATOR, viewport: { width: 390, height: 800 } });
    await page.goto(`${env.ts.server.url}/jobs`);
    await page.getByTestId('jobs-table').waitFor();
    const firmwareLink = page.locator('#sidebar').getByRole('link', { name: 'Firmware' });
    expect(await firmwareLink.isVisible()).toBe(false);
    await page.getByRole('button', { name: 'Menu' }).click();
    await firmwareLink.click();
    await page.waitForURL(/\/firmware(\?|$)/);
    await page.getByTestId('firmware-table').waitFor();
    // The drawer slides out (a 0.15 s transition) after the navigation closed it.
    await firmwareLink.waitFor({ state: 'hidden', timeout: 2_000 });
    await context.close();
  });
});

describe('the keyboard', () => {
  it("moves between the job's tabs with the arrow keys", async () => {
    const running = await demoJobId(env.ts, DEMO_JOBS.running);
    const { page, context } = await openConsole(env.browser, env.ts, { permissions: OPERATOR });
    await page.goto(jobUrl(env.ts, running));
    await page.getByTestId('device-table').waitFor();
    await page.getByTestId('tab-to-be-pushed').focus();
    await page.keyboard.press('ArrowRight');
    await page.waitForURL(/tab=pushed/);
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('tab-pushed');
    expect(await page.getByTestId('tab-pushed').getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('End');
    await page.waitForURL(/tab=failed/);
    await page.keyboard.press('ArrowLeft');
    await page.waitForURL(/tab=succeeded/);
    await context.close();
  });

  it('keeps focus inside a dialog, closes it on Escape and gives focus back', async () => {
    const running = await demoJobId(env.ts, DEMO_JOBS.running);
    const { page, context } = await openConsole(env.browser, env.ts, { permissions: OPERATOR });
    await page.goto(jobUrl(env.ts, running));
    await page.getByTestId('device-table').waitFor();
    const opener = page.getByRole('button', { name: 'Cancel job' });
    await opener.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Cancel job' });
    await dialog.waitFor();
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      const inside = await page.evaluate(() => !!document.activeElement?.closest('dialog[open]') || document.activeElement === document.body);
      expect(inside).toBe(true);
    }
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Cancel job');
    // Nothing was cancelled.
    const [job] = await queryRows<{ status: string }>(env.ts.server.services.db, sql`select status from ota_jobs where name = ${DEMO_JOBS.running}`);
    expect(job.status).toBe('RUNNING');
    await context.close();
  });
});

describe('the sign-in page', () => {
  it('opens on the token tab while no one has a password, on the account tab once someone has', async () => {
    const context = await env.browser.newContext({ viewport: { width: 390, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${env.ts.server.url}/sign-in`);
    await page.getByTestId('sign-in-form').waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid=sign-in-token-tab]')?.getAttribute('aria-selected') === 'true');
    expect(await page.getByTestId('sign-in-account-tab').getAttribute('aria-selected')).toBe('false');
    await env.ts.createUser({ permissions: ['OTA_READ'], password: 'a password long enough' });
    await page.reload();
    await page.getByTestId('sign-in-form').waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid=sign-in-account-tab]')?.getAttribute('aria-selected') === 'true');
    await context.close();
  });
});

describe('buttons that cannot succeed', () => {
  it('Batch Upgrade on firmware that needs verification is disabled and says why', async () => {
    await uploadFirmware(env.ts, { productKey: DEMO_PRODUCT_KEY, name: 'Unverified firmware', version: '9.9.9', requireVerification: true });
    const { page, context } = await openConsole(env.browser, env.ts, { permissions: OPERATOR });
    await page.goto(`${env.ts.server.url}/firmware`);
    await page.getByTestId('firmware-table').waitFor();
    const unverified = page.locator('[data-testid="firmware-row"][data-firmware="Unverified firmware"]');
    await unverified.getByText('Needs verification').waitFor();
    const batch = unverified.getByRole('button', { name: 'Batch Upgrade' });
    expect(await batch.isDisabled()).toBe(true);
    const describedBy = await batch.getAttribute('aria-describedby');
    expect(describedBy).toBeTruthy();
    expect(await page.locator(`#${describedBy}`).textContent()).toMatch(/verif/i);
    await context.close();
  });
});
