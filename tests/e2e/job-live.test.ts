/**
 * The job details page follows a rollout live: the engine pushes to simulated devices over real
 * MQTT and the tabs' counts, the progress and the rows move without a reload; cancelling a Pushed
 * device from the page moves it to Upgrade Failed as "Cancelled by user".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startFleet, type Fleet } from '@updraft/server/simulator/index.js';
import type { TestServer } from '../support/server.js';
import { mqttUrlOf, setUpFleet, startEngineServer, uniqueProductKey, upgradeJob, waitFor, tasksOf } from '../engine/support.js';
import { globalId, jobUrl, launchChromium, openConsole, OPERATOR, tabCount } from './support/console.js';
import { connectSilentDevice, type SilentDevice } from './support/silent-device.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe('a running job in the browser', () => {
  let ts: TestServer;
  let fleet: Fleet | undefined;
  beforeAll(async () => {
    ts = await startEngineServer();
  });
  afterAll(async () => {
    await fleet?.stop();
    await ts?.close();
  });

  it('shows counts, progress and rows change live, without reloading', { timeout: 180_000 }, async () => {
    const services = ts.server.services;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('e2e-live'), count: 12 });
    fleet = await startFleet({ devices: setup.devices, mqttUrl: mqttUrlOf(ts), upgradeSeconds: 2, rebootSeconds: 0.2, progressReports: 4 });
    const { page, pageErrors } = await openConsole(browser, ts, { permissions: OPERATOR });
    const job = await upgradeJob(services, setup, { scope: { allDevices: true }, maxConcurrency: 2 });

    await page.goto(jobUrl(ts, globalId('OtaJob', job.id), 'tab=succeeded'));
    await page.getByTestId('job-name').waitFor();
    // A marker on the window survives only if the page is never reloaded.
    await page.evaluate(() => ((window as unknown as { e2eMarker: number }).e2eMarker = 42));
    const before = await tabCount(page, 'succeeded');
    expect(before).toBeLessThan(12);

    await page.waitForFunction(() => Number(document.querySelector('[data-testid="count-succeeded"]')?.textContent) === 12, null, { timeout: 90_000 });
    // Rows arrived in the open Upgrade Successful tab as devices finished.
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="device-row"]').length === 12, null, { timeout: 30_000 });
    expect(await tabCount(page, 'to-be-pushed')).toBe(0);
    expect(await page.getByTestId('job-progress').getAttribute('data-progress')).toBe('100');
    expect(await page.evaluate(() => (window as unknown as { e2eMarker?: number }).e2eMarker)).toBe(42);
    expect(pageErrors).toEqual([]);
  });
});

describe('cancelling a Pushed device', () => {
  let ts: TestServer;
  const devices: SilentDevice[] = [];
  beforeAll(async () => {
    // Real minutes: the job's timeout must not end the Pushed task before the test cancels it.
    ts = await startEngineServer({ engineMinuteMs: 60_000 });
  });
  afterAll(async () => {
    await Promise.all(devices.map((d) => d.stop()));
    await ts?.close();
  });

  it('moves it to Upgrade Failed as "Cancelled by user" and sends the device a cancel', { timeout: 120_000 }, async () => {
    const services = ts.server.services;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('e2e-cancel'), count: 3 });
    for (const spec of setup.devices) devices.push(await connectSilentDevice(mqttUrlOf(ts), spec));
    const job = await upgradeJob(services, setup, { scope: { allDevices: true } });
    await waitFor(async () => [...(await tasksOf(services, job.id)).values()].every((t) => t.status === 'PUSHED'), { what: 'all three devices pushed' });

    const { page, pageErrors } = await openConsole(browser, ts, { permissions: OPERATOR });
    await page.goto(jobUrl(ts, globalId('OtaJob', job.id), 'tab=pushed'));
    const target = setup.devices[1].deviceKey;
    const row = page.locator(`[data-testid="device-row"][data-device-key="${target}"]`);
    await row.waitFor();
    expect(await tabCount(page, 'pushed')).toBe(3);

    await row.getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Cancel Upgrade' }).click();
    const dialog = page.getByRole('dialog', { name: 'Cancel Upgrade' });
    await dialog.getByText(target).waitFor();
    await dialog.getByRole('button', { name: /Cancel upgrade of 1 device/ }).click();

    await page.getByTestId('action-message').getByText('1 device cancelled').waitFor();
    // Counts move live; the row stays in place, marked with where it went.
    await page.waitForFunction(() => document.querySelector('[data-testid="count-failed"]')?.textContent === '1');
    expect(await tabCount(page, 'pushed')).toBe(2);
    await row.getByTestId('left-note').getByText('Now Upgrade Failed').waitFor();
    await waitFor(() => devices[1].cancels.length > 0, { what: 'the device to receive the cancel command' });

    await page.getByTestId('tab-failed').click();
    const failedRow = page.locator(`[data-testid="device-row"][data-device-key="${target}"]`);
    await failedRow.getByTestId('failure-reason').getByText('Cancelled by user').waitFor();
    expect(new URL(page.url()).searchParams.get('tab')).toBe('failed');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="device-row"]').length === 1);
    expect(pageErrors).toEqual([]);
  });
});
