/**
 * The built dashboard sends trusted document ids, not documents, and the server runs them: signed
 * in with an API token restricted to trusted documents (what a mobile app gets), the jobs list, a
 * job's details with its live subscriptions, the devices and firmware pages all load and update,
 * every HTTP request carries an id and no `query`, every graphql-ws subscribe carries an id and no
 * text, and no request is refused. The ids are the SHA-256 of the manifest's texts.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { bearer } from '../support/server.js';
import { browserAndServerPerFile, jobUrl, OPERATOR, openConsole } from './support/console.js';
import { DEMO_JOBS, demoJobId, startDemoServer } from './support/demo.js';

const env = browserAndServerPerFile(startDemoServer);
const MANIFEST = fileURLToPath(new URL('../../web/dist/trusted-documents.json', import.meta.url));

describe('the dashboard with trusted documents', () => {
  it('names every document by the SHA-256 of its text', async () => {
    const manifest = JSON.parse(await readFile(MANIFEST, 'utf8')) as { format: string; documents: Record<string, string> };
    expect(manifest.format).toBe('updraft-trusted-documents');
    const entries = Object.entries(manifest.documents);
    expect(entries.length).toBeGreaterThan(20);
    for (const [id, text] of entries) expect(id).toBe(`sha256:${createHash('sha256').update(text).digest('hex')}`);
    expect(entries.some(([, text]) => text.startsWith('subscription JobDetailsLive'))).toBe(true);
  });

  it('works with a session restricted to trusted documents, sending ids only', { timeout: 120_000 }, async () => {
    const user = await env.ts.createUser({ permissions: OPERATOR });
    const created = await fetch(env.ts.server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(user.token) },
      body: JSON.stringify({
        query: `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { ... on MutationCreateApiTokenSuccess { data { token } } } }`,
        variables: { input: { name: 'phone', permissions: OPERATOR, trustedDocumentsOnly: true } },
      }),
    }).then((r) => r.json());
    const token: string = created.data.createApiToken.data.token;
    // The restriction is real: an ad-hoc query with this token is refused.
    const adHoc = await fetch(env.ts.server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(token) },
      body: JSON.stringify({ query: '{ me { user { username } } }' }),
    }).then((r) => r.json());
    expect(adHoc.errors[0].extensions.code).toBe('TRUSTED_DOCUMENT_REQUIRED');

    const context = await env.browser.newContext({ viewport: { width: 1440, height: 900 }, timezoneId: 'UTC' });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const bodies: Record<string, unknown>[] = [];
    const refused: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/graphql' && request.method() === 'POST') bodies.push(request.postDataJSON());
    });
    page.on('response', async (response) => {
      if (new URL(response.url()).pathname !== '/graphql') return;
      const text = await response.text().catch(() => '');
      for (const code of ['TRUSTED_DOCUMENT_REQUIRED', 'PERSISTED_QUERY_NOT_FOUND']) if (text.includes(code)) refused.push(code);
    });
    const subscribes: { query?: string; extensions?: { persistedQuery?: { sha256Hash?: string } } }[] = [];
    page.on('websocket', (ws) =>
      ws
        .on('framesent', (frame) => {
          const message = JSON.parse(String(frame.payload));
          if (message.type === 'subscribe') subscribes.push(message.payload);
        })
        .on('framereceived', (frame) => {
          for (const code of ['TRUSTED_DOCUMENT_REQUIRED', 'PERSISTED_QUERY_NOT_FOUND']) if (String(frame.payload).includes(code)) refused.push(code);
        }),
    );

    await page.goto(`${env.ts.server.url}/sign-in`);
    await page.getByRole('tab', { name: 'API token' }).click();
    await page.fill('input[name=token]', token);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/jobs$/);
    await page.getByTestId('jobs-table').waitFor();
    await page.getByTestId('live-indicator').and(page.locator('[data-state="live"]')).waitFor();

    await page.goto(jobUrl(env.ts, await demoJobId(env.ts, DEMO_JOBS.running)));
    await page.getByTestId('tab-failed').click();
    await page.getByTestId('device-table').waitFor();
    await page.goto(`${env.ts.server.url}/devices`);
    await page.getByTestId('devices-table').waitFor();
    await page.goto(`${env.ts.server.url}/firmware`);
    await page.getByTestId('firmware-table').waitFor();
    await page.waitForTimeout(500);

    expect(refused).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(bodies.length).toBeGreaterThan(5);
    for (const body of bodies) {
      expect(body.query, JSON.stringify(body)).toBeUndefined();
      expect((body.extensions as { persistedQuery?: { sha256Hash?: string } }).persistedQuery?.sha256Hash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(subscribes.length).toBeGreaterThan(1);
    for (const payload of subscribes) {
      expect(payload.query ?? '').toBe('');
      expect(payload.extensions?.persistedQuery?.sha256Hash).toMatch(/^[0-9a-f]{64}$/);
    }
    await context.close();
  });

  // Last: it takes the dashboard's documents away.
  it('falls back to sending the text when the server does not know an id (web/dist replaced without a restart)', async () => {
    await env.ts.server.services.db.execute(sql`delete from trusted_documents where ou_id is null`);
    env.ts.server.services.events.publish('trusted-documents:changed', { ouId: null });
    const { page, context, pageErrors } = await openConsole(env.browser, env.ts, { permissions: OPERATOR });
    const bodies: Record<string, unknown>[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/graphql' && request.method() === 'POST') bodies.push(request.postDataJSON());
    });
    await page.goto(`${env.ts.server.url}/jobs`);
    await page.getByTestId('jobs-table').waitFor();
    const jobs = bodies.filter((b) => b.operationName === 'Jobs');
    expect(jobs.length).toBeGreaterThanOrEqual(2);
    expect(jobs[0].query).toBeUndefined();
    expect(String(jobs[1].query)).toMatch(/^query Jobs/);
    expect(pageErrors).toEqual([]);
    await context.close();
  });
});
