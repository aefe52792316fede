/**
 * The Audit log page (OU_ADMIN): what the demo's setup and an operator's action recorded, searched
 * by words and action, a reversed time range refused in place, and nothing of it for an operator.
 */
import { describe, expect, it } from 'vitest';
import { browserAndServerPerFile, openConsole, OPERATOR } from './support/console.js';
import { DEMO_JOBS, demoJobId, startDemoServer } from './support/demo.js';

const env = browserAndServerPerFile(startDemoServer);

describe('the Audit log page', () => {
  it('shows who did what from where, and searches by words, action and time', async () => {
    // An action through the API with a named token, so the page has a "from where" to show.
    const operator = await env.ts.createUser({ permissions: OPERATOR, username: 'night.operator' });
    const jobId = await demoJobId(env.ts, DEMO_JOBS.stopped);
    const started = await operator.gql(`mutation($id: ID!) { startJob(id: $id) { __typename } }`, { id: jobId });
    expect(started.data.startJob.__typename).toBe('MutationStartJobSuccess');

    const { page, pageErrors, context } = await openConsole(env.browser, env.ts, { permissions: [...OPERATOR, 'OU_ADMIN'] });
    await page.goto(`${env.ts.server.url}/jobs`);
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.waitForURL(/\/admin\/audit$/);
    const rows = page.getByTestId('audit-row');
    await rows.first().waitFor();
    // (The console's own user, created after it, is newer.)
    const newest = page.locator('[data-testid=audit-row][data-action=JOB_STARTED]');
    expect(await newest.count()).toBe(1);
    const text = (await newest.textContent()) ?? '';
    expect(text).toContain('night.operator');
    expect(text).toContain(DEMO_JOBS.stopped);
    expect(text).toMatch(/127\.0\.0\.1/);
    expect(text).toContain('API token “token of night.operator”');
    expect(text).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC/);
    // The target links to its page.
    expect(await newest.getByRole('link', { name: DEMO_JOBS.stopped }).getAttribute('href')).toBe(`/jobs/${encodeURIComponent(jobId)}`);

    // By action: only that action.
    await page.getByRole('combobox', { name: 'Action' }).selectOption('JOB_CREATED');
    await page.waitForURL(/action=JOB_CREATED/);
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=audit-row]')].every((r) => r.getAttribute('data-action') === 'JOB_CREATED'));
    const created = await rows.count();
    expect(created).toBeGreaterThanOrEqual(Object.keys(DEMO_JOBS).length);

    // Words: the cancelled demo job's creation only.
    await page.getByTestId('audit-search').fill('accidental');
    await page.getByTestId('audit-search').press('Enter');
    await page.waitForURL(/q=accidental/);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=audit-row]').length === 1);
    expect(await rows.first().textContent()).toContain(DEMO_JOBS.cancelled);

    // A reversed range is refused next to the field, without asking the server.
    await page.locator('input[name=since]').fill('2026-12-02T10:00:00');
    await page.locator('input[name=since]').dispatchEvent('change');
    await page.locator('input[name=until]').fill('2026-12-01T10:00:00');
    await page.locator('input[name=until]').dispatchEvent('change');
    await page.getByRole('alert').getByText('The end of the range is before its start.').waitFor();
    expect(await page.locator('input[name=until]').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByText('Something went wrong').count()).toBe(0);

    expect(pageErrors).toEqual([]);
    await context.close();
  });

  it('is not offered to an operator, and refused by address', async () => {
    const { page, context } = await openConsole(env.browser, env.ts, { permissions: OPERATOR });
    await page.goto(`${env.ts.server.url}/jobs`);
    await page.getByTestId('jobs-table').waitFor();
    expect(await page.getByRole('link', { name: 'Audit log' }).count()).toBe(0);
    await page.goto(`${env.ts.server.url}/admin/audit`);
    await page.getByTestId('permission-page').getByText('OU_ADMIN').waitFor();
    expect(await page.getByTestId('audit-table').count()).toBe(0);
    await context.close();
  });
});
