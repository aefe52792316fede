/**
 * Drives the dashboard in Debian's Chromium (playwright-core, no downloaded browser) against a real
 * server on port 0. The server serves web/dist: build the dashboard first
 * (`pnpm --filter @updraft/web build`; `npm test` does).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { issueCredential } from '@updraft/server/auth/credentials.js';
import type { Permission } from '@updraft/server/db/schema.js';
import { inTransaction } from '@updraft/server/domain/transaction.js';
import type { TestServer, TestUser } from '../../support/server.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const WEB_DIST_INDEX = fileURLToPath(new URL('../../../web/dist/index.html', import.meta.url));

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(WEB_DIST_INDEX)) throw new Error('web/dist is missing: run `pnpm --filter @updraft/web build` before the browser tests');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export interface ConsoleSession {
  context: BrowserContext;
  page: Page;
  user: TestUser;
  /** Browser-side errors collected while the page ran (a test can assert there were none). */
  pageErrors: string[];
}

/**
 * A browser context signed in as a new user with exactly these permissions: a session credential is
 * issued for the user and put in the HttpOnly cookie, as signing in would.
 */
export async function openConsole(
  browser: Browser,
  ts: TestServer,
  options: { permissions: readonly Permission[]; viewport?: { width: number; height: number }; timezoneId?: string; username?: string },
): Promise<ConsoleSession> {
  const user = await ts.createUser({ permissions: options.permissions, username: options.username });
  const { secret } = await inTransaction(ts.server.services, (scope) =>
    issueCredential(scope.tx, {
      kind: 'SESSION',
      userId: user.userId,
      ouId: user.ouId,
      name: 'browser test session',
      permissions: null,
      expiresAt: new Date(Date.now() + 3600_000),
      createdBy: user.userId,
    }),
  );
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1440, height: 900 }, timezoneId: options.timezoneId ?? 'UTC' });
  await context.addCookies([{ name: 'updraft_session', value: secret, url: ts.server.url, httpOnly: true, sameSite: 'Strict' }]);
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return { context, page, user, pageErrors };
}

/** Every permission an operator of the console has. */
export const OPERATOR: Permission[] = [
  'FIRMWARE_READ',
  'FIRMWARE_WRITE',
  'FIRMWARE_DELETE',
  'OTA_READ',
  'OTA_CREATE',
  'OTA_CONTROL',
  'DEVICE_READ',
  'DEVICE_WRITE',
];

/** The console's URL of a job's details page. */
export function jobUrl(ts: TestServer, jobGlobalId: string, query = ''): string {
  return `${ts.server.url}/jobs/${encodeURIComponent(jobGlobalId)}${query ? `?${query}` : ''}`;
}

/** The number a tab shows as its count. */
export async function tabCount(page: Page, slug: string): Promise<number> {
  const text = await page.getByTestId(`count-${slug}`).textContent();
  return Number((text ?? '').replace(/[^\d]/g, ''));
}

/** The GraphQL global ID of a row (Pothos relay: base64 of "Type:id"). */
export function globalId(type: string, id: string): string {
  return Buffer.from(`${type}:${id}`).toString('base64');
}

/**
 * Chromium and a server for the whole test file (started together in beforeAll, closed in
 * afterAll); read them through the returned getters inside tests.
 */
export function browserAndServerPerFile(start: () => Promise<TestServer>): { readonly browser: Browser; readonly ts: TestServer } {
  let browser: Browser | undefined;
  let ts: TestServer | undefined;
  beforeAll(async () => {
    [browser, ts] = await Promise.all([launchChromium(), start()]);
  });
  afterAll(async () => {
    await browser?.close();
    await ts?.close();
  });
  return {
    get browser() {
      return browser!;
    },
    get ts() {
      return ts!;
    },
  };
}
