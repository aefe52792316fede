/**
 * Refreshes docs/screenshots/*.png: every page of the dashboard against a real server with the demo
 * data and the simulated demo fleet moving it (`pnpm screenshots` at the repository root; build the
 * dashboard first). Run it after changing the dashboard, then look at the pictures.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page, WebSocketRoute } from 'playwright-core';
import { loadFleetFile, startFleet } from '@updraft/server/simulator/index.js';
import { seedDemo } from '@updraft/server/seed/demo.js';
import { startTestServer } from '../support/server.js';
import { launchChromium, openConsole, OPERATOR } from './support/console.js';
import { DEMO_JOBS, demoJobId } from './support/demo.js';

const OUT = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));

const ts = await startTestServer({ mqttPort: 0, mqttHost: '127.0.0.1', engineSweepMs: 500 });
const browser = await launchChromium();
let fleet: Awaited<ReturnType<typeof startFleet>> | undefined;
try {
  await mkdir(OUT, { recursive: true });
  await seedDemo(ts.server.services, ts.server.adminCaller, 300);
  const devices = await loadFleetFile(path.join(ts.dataDir, 'demo-fleet.json'));
  fleet = await startFleet({
    devices,
    mqttUrl: ts.server.rollout.gateway!.deviceUrl,
    behaviour: 'offline=0.05,slow=0.1,decline=0.02,downloadFail=0.02,writeFail=0.01,hang=0.01',
    upgradeSeconds: 25,
    rebootSeconds: 2,
  });
  await new Promise((resolve) => setTimeout(resolve, 8000));

  const shot = async (page: Page, name: string) => {
    await page.waitForTimeout(600);
    await page.screenshot({ path: path.join(OUT, `${name}.png`) });
    console.log(`docs/screenshots/${name}.png`);
  };
  const running = await demoJobId(ts, DEMO_JOBS.running);
  const jobPath = (id: string, query = '') => `${ts.server.url}/jobs/${encodeURIComponent(id)}${query ? `?${query}` : ''}`;

  // Signed out: the sign-in page.
  const anonymous = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const signIn = await anonymous.newPage();
  await signIn.goto(`${ts.server.url}/jobs`);
  await signIn.getByTestId('sign-in-form').waitFor();
  await shot(signIn, '01-sign-in');
  await anonymous.close();

  const { page, context } = await openConsole(browser, ts, {
    permissions: [...OPERATOR, 'OU_ADMIN'],
    username: 'ops.lead',
    viewport: { width: 1440, height: 900 },
  });
  await page.goto(`${ts.server.url}/jobs`);
  await page.getByTestId('jobs-table').waitFor();
  await shot(page, '02-ota-jobs');

  await page.setViewportSize({ width: 1440, height: 1250 });
  await page.goto(jobPath(running, 'tab=in-progress&size=50'));
  await page.getByTestId('device-row').first().waitFor();
  await page.waitForTimeout(4000);
  await shot(page, '03-job-details');

  await page.goto(jobPath(running, 'tab=to-be-pushed&size=50'));
  await page.getByTestId('device-row').first().waitFor();
  await shot(page, '04-job-to-be-pushed');

  await page.goto(jobPath(running, 'tab=failed&reason=DOWNLOAD_FAILED&size=50'));
  await page.getByTestId('device-table').waitFor();
  await shot(page, '05-job-upgrade-failed-search');

  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(jobPath(running, 'tab=pushed&size=50'));
  const pushed = page.getByTestId('device-row');
  await pushed.first().waitFor();
  const selectable = page.locator('[data-testid="device-row"]:not(.departed) input[type=checkbox]:enabled');
  for (let i = 0; i < Math.min(2, await selectable.count()); i++) await selectable.nth(i).check();
  await page.getByRole('button', { name: 'Cancel Upgrade' }).click();
  await page.getByRole('dialog', { name: 'Cancel Upgrade' }).waitFor();
  await shot(page, '06-cancel-upgrade-confirmation');
  await page.keyboard.press('Escape');

  await page.getByTestId('edit-job').click();
  await page.getByTestId('job-edit-form').waitFor();
  await shot(page, '07-edit-upgrade-job');
  await page.keyboard.press('Escape');

  // A verification job that is executing: nothing can be edited, and the form says why.
  await page.goto(`${ts.server.url}/firmware`);
  await page.getByTestId('firmware-table').waitFor();
  await shot(page, '08-firmware');
  const v20 = page.locator('[data-testid="firmware-row"][data-firmware="Meter firmware 2.0"]');
  await v20.getByRole('button', { name: 'Verify' }).click();
  const picker = page.getByTestId('device-picker');
  await picker.locator('input[type=checkbox]').nth(0).check();
  await picker.locator('input[type=checkbox]').nth(1).check();
  await shot(page, '09-verify-firmware');
  await page.getByRole('button', { name: 'Create verification job' }).click();
  await page.getByTestId('job-name').waitFor();
  await page.getByTestId('edit-job').click();
  await page.getByTestId('job-edit-form').waitFor();
  await shot(page, '10-edit-verification-job-executing');
  await page.keyboard.press('Escape');

  await page.goto(`${ts.server.url}/firmware`);
  await page.locator('[data-testid="firmware-row"][data-firmware="Meter firmware 1.1"]').getByRole('button', { name: 'Batch Upgrade' }).click();
  await page.getByTestId('batch-upgrade-form').waitFor();
  await shot(page, '11-batch-upgrade');
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: 'Upload firmware' }).click();
  await page.getByTestId('upload-form').waitFor();
  await shot(page, '12-upload-firmware');
  await page.keyboard.press('Escape');

  await page.goto(`${ts.server.url}/devices`);
  await page.getByTestId('devices-table').waitFor();
  await shot(page, '13-devices');

  // The live connection drops: the banner, then the catch-up when it is back.
  const sockets: WebSocketRoute[] = [];
  let online = true;
  await page.routeWebSocket(/\/graphql$/, (ws) => {
    if (!online) return void ws.close({ code: 1012 });
    sockets.push(ws);
    ws.connectToServer();
  });
  await page.goto(jobPath(running, 'tab=in-progress&size=50'));
  await page.getByTestId('device-row').first().waitFor();
  await page.locator('[data-testid="live-indicator"][data-state="live"]').waitFor();
  online = false;
  for (const ws of sockets.splice(0)) await ws.close({ code: 1001, reason: 'test: connection lost' });
  await page.getByTestId('reconnect-banner').waitFor();
  await shot(page, '14-reconnecting');
  await context.close();

  const reader = await openConsole(browser, ts, { permissions: ['FIRMWARE_READ', 'DEVICE_READ'], username: 'fleet.auditor' });
  await reader.page.goto(jobPath(running));
  await reader.page.getByTestId('permission-page').waitFor();
  await shot(reader.page, '15-permission-missing');
  await reader.context.close();
} finally {
  await fleet?.stop();
  await browser.close();
  await ts.close();
}
