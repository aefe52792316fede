/**
 * When the live connection drops the page says so, and when it returns the device table catches up
 * from its subscription cursor: a change made while the page was disconnected shows on its row
 * without a reload.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { WebSocketRoute } from 'playwright-core';
import { mqttUrlOf, setUpFleet, startEngineServer, tasksOf, uniqueProductKey, upgradeJob, waitFor } from '../engine/support.js';
import { browserAndServerPerFile, globalId, jobUrl, openConsole, OPERATOR, tabCount } from './support/console.js';
import { connectSilentDevice, type SilentDevice } from './support/silent-device.js';

// Real minutes: the job's timeout must not end the Pushed tasks while the test runs.
const env = browserAndServerPerFile(() => startEngineServer({ engineMinuteMs: 60_000 }));
const devices: SilentDevice[] = [];
afterAll(async () => {
  await Promise.all(devices.map((d) => d.stop()));
});

describe('a dropped live connection', () => {
  it('shows the reconnect indicator and catches up from the cursor when the connection returns', { timeout: 120_000 }, async () => {
    const { browser, ts } = env;
    const services = ts.server.services;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('e2e-reconnect'), count: 4 });
    for (const spec of setup.devices) devices.push(await connectSilentDevice(mqttUrlOf(ts), spec));
    const job = await upgradeJob(services, setup, { scope: { allDevices: true } });
    await waitFor(async () => [...(await tasksOf(services, job.id)).values()].every((t) => t.status === 'PUSHED'), { what: 'all devices pushed' });
    const jobId = globalId('OtaJob', job.id);
    const [first, second] = setup.devices.map((d) => d.deviceKey);

    const { page, pageErrors } = await openConsole(browser, ts, { permissions: OPERATOR });
    // The page's WebSocket goes through this route, so the test can cut it and refuse new ones.
    let online = true;
    const sockets: WebSocketRoute[] = [];
    await page.routeWebSocket(/\/graphql$/, (ws) => {
      if (!online) return void ws.close({ code: 1012, reason: 'test: server unreachable' });
      sockets.push(ws);
      ws.connectToServer();
    });
    await page.goto(jobUrl(ts, jobId, 'tab=pushed'));
    await page.getByTestId('live-indicator').and(page.locator('[data-state="live"]')).waitFor();
    await page.locator(`[data-device-key="${second}"]`).waitFor();
    // The table's subscription starts from "now" when the server takes it (the API gives no cursor
    // with the page read): wait until the server follows the job before the first change.
    await waitFor(() => services.live.jobChanges.watchedJobs > 0, { what: 'the server to follow the job for the page' });

    // A first change while connected gives the table a cursor.
    const cancel = (key: string) =>
      ts.gql(`mutation($input: CancelUpgradeInput!) { cancelUpgrade(input: $input) { __typename } }`, { input: { jobId, deviceKeys: [key] } });
    expect((await cancel(first)).data.cancelUpgrade.__typename).toBe('MutationCancelUpgradeSuccess');
    await page.locator(`[data-device-key="${first}"]`).getByTestId('left-note').waitFor();

    // Cut the connection and refuse reconnects: the page says it is reconnecting.
    online = false;
    for (const ws of sockets.splice(0)) await ws.close({ code: 1001, reason: 'test: connection lost' });
    await page.getByTestId('reconnect-banner').waitFor();
    expect(await page.getByTestId('live-indicator').getAttribute('data-state')).toBe('reconnecting');

    // A change the page cannot hear about now.
    expect((await cancel(second)).data.cancelUpgrade.__typename).toBe('MutationCancelUpgradeSuccess');
    await page.waitForTimeout(500);
    expect(await page.locator(`[data-device-key="${second}"]`).getByTestId('left-note').count()).toBe(0);

    // Back online: the row catches up (a fresh read would have dropped it; the cursor marks it instead).
    online = true;
    await page.getByTestId('live-indicator').and(page.locator('[data-state="live"]')).waitFor({ timeout: 30_000 });
    // It says where it went (the subscription names only the key; the page reads its current state).
    await page.locator(`[data-device-key="${second}"]`).getByTestId('left-note').getByText('Upgrade Failed').waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="count-failed"]')?.textContent === '2');
    expect(await tabCount(page, 'pushed')).toBe(2);
    expect(await page.getByTestId('reconnect-banner').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});
