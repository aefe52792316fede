/**
 * The wave stepper in the browser (issue 16): a job with an approval gate after its canary waits;
 * the stepper shows the waves with live counts and the abort gauge, "Approve next wave" is offered
 * to an operator (disabled for a viewer), approving starts the next wave and the devices finish;
 * a click on a wave filters the tabs. The Batch Upgrade dialog previews the plan's waves before the
 * job exists. Screenshots for docs/dashboard.md at 1440 and 390 px.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from '@updraft/server/simulator/index.js';
import type { TestServer } from '../support/server.js';
import { jobStatus, mqttUrlOf, setUpFleet, startEngineServer, uniqueProductKey, upgradeJob, waitFor } from '../engine/support.js';
import { globalId, jobUrl, launchChromium, openConsole, OPERATOR, tabCount } from './support/console.js';

const SHOTS = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));

let browser: Browser;
let ts: TestServer;
let fleet: Fleet | undefined;
beforeAll(async () => {
  browser = await launchChromium();
  ts = await startEngineServer();
});
afterAll(async () => {
  await fleet?.stop();
  await ts?.close();
  await browser?.close();
});

describe('the wave stepper', () => {
  it('waits at the approval gate, approves the next wave, filters the tabs by wave', { timeout: 180_000 }, async () => {
    const services = ts.server.services;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('e2e-waves'), count: 10 });
    fleet = await startFleet({ devices: setup.devices, mqttUrl: mqttUrlOf(ts), upgradeSeconds: 0.5, rebootSeconds: 0.1, progressReports: 2 });
    const job = await upgradeJob(services, setup, {
      name: 'Pump firmware 2.0',
      scope: { allDevices: true },
      rollout: { waves: [{ name: 'Canary', count: 2, approvalRequired: true, errorThreshold: { percent: 50, minFinished: 2 } }, { name: 'Everyone' }] },
    });
    await waitFor(async () => (await jobStatus(services, job.id)).status === 'WAITING_FOR_APPROVAL', { what: 'the approval gate' });

    const viewer = await openConsole(browser, ts, { permissions: ['OTA_READ', 'FIRMWARE_READ'] });
    await viewer.page.goto(jobUrl(ts, globalId('OtaJob', job.id)));
    await viewer.page.getByTestId('approve-next-wave').waitFor();
    expect(await viewer.page.getByTestId('approve-next-wave').isDisabled()).toBe(true);

    const { page, pageErrors } = await openConsole(browser, ts, { permissions: OPERATOR });
    await page.goto(jobUrl(ts, globalId('OtaJob', job.id)));
    const stepper = page.getByTestId('wave-stepper');
    await stepper.waitFor();
    expect(await page.getByTestId('wave-0').getAttribute('data-status')).toBe('WAITING_FOR_APPROVAL');
    expect(await page.getByTestId('wave-1').getAttribute('data-status')).toBe('PENDING');
    expect(await page.getByTestId('wave-0-counts').textContent()).toContain('2 ok');
    expect(await page.getByTestId('next-wave-waits-for').textContent()).toContain('waiting for someone with OTA_CONTROL to approve the next wave');
    expect(await page.getByTestId('abort-gauge').getAttribute('data-tone')).toBe('ok');
    await page.screenshot({ path: path.join(SHOTS, 'job-waves-approval.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await stepper.screenshot({ path: path.join(SHOTS, 'job-waves-approval-390.png') });
    await page.setViewportSize({ width: 1440, height: 900 });

    // The tabs filtered by the canary: its 2 devices succeeded, none of the 8 others shows.
    await page.getByTestId('wave-0').getByRole('button').first().click();
    await page.getByTestId('wave-filter').waitFor();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="count-succeeded"]')?.textContent) === 2);
    expect(await tabCount(page, 'to-be-pushed')).toBe(0);
    await page.getByTestId('wave-1').getByRole('button').first().click();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="count-to-be-pushed"]')?.textContent) === 8);

    await page.getByTestId('approve-next-wave').click();
    // Live: the stepper moves on and the wave's devices finish without a reload.
    await page.waitForFunction(() => document.querySelector('[data-testid="wave-1"]')?.getAttribute('data-status') === 'PASSED', null, { timeout: 60_000 });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="count-succeeded"]')?.textContent) === 8, null, { timeout: 30_000 });
    expect(await page.getByTestId('wave-0').getAttribute('data-status')).toBe('PASSED');
    await page.getByText('Rollout decisions').click();
    expect(await stepper.textContent()).toMatch(/approved the next wave after Canary/);
    await page.screenshot({ path: path.join(SHOTS, 'job-waves-finished.png'), fullPage: false });
    expect(pageErrors).toEqual([]);
  });

  it('previews the waves of a plan in the Batch Upgrade dialog before the job exists', { timeout: 60_000 }, async () => {
    const services = ts.server.services;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('e2e-plan'), count: 300 });
    const { page, pageErrors } = await openConsole(browser, ts, { permissions: OPERATOR });
    await page.goto(`${ts.server.url}/firmware?product=${encodeURIComponent(setup.productKey)}`);
    await page.getByRole('button', { name: 'Batch Upgrade' }).first().click();
    const plan = page.getByTestId('rollout-plan');
    await plan.waitFor();
    await plan.locator('select[name="rolloutPlan"]').selectOption('CANARY_APPROVAL_10_50_100');
    await page.getByTestId('preview-wave-3').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('preview-count').textContent()).toContain('300');
    const counts = await Promise.all([0, 1, 2, 3].map(async (i) => (await page.getByTestId(`preview-wave-${i}`).textContent()) ?? ''));
    expect(counts.map((t) => Number(/: (\d+)/.exec(t)?.[1]))).toEqual([3, 27, 120, 150]);
    await plan.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, 'batch-upgrade-waves.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await plan.screenshot({ path: path.join(SHOTS, 'batch-upgrade-waves-390.png') });
    expect((await services.db.query.otaJobs.findMany({ where: { name: { like: 'Upgrade to%' } } })).length).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});
