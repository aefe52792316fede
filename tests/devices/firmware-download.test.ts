/** GET /firmware/{id}/download: signed short-lived tokens, the whole file, Range resumes, clear 403/404/416. */
import { createHash, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDownloadTokens, type DownloadTokens } from '@updraft/server/devices/download-token.js';
import { queryRows } from '@updraft/server/db/sql.js';
import type { TestServer } from '../support/server.js';
import { setUpFleet, startEngineServer, uniqueProductKey } from '../engine/support.js';

describe('firmware download', () => {
  let ts: TestServer;
  let tokens: DownloadTokens;
  let firmwareId: string;
  let file: Buffer;
  const url = (id: string, token?: string) => `${ts.server.url}/firmware/${id}/download${token === undefined ? '' : `?token=${encodeURIComponent(token)}`}`;

  beforeAll(async () => {
    ts = await startEngineServer();
    const services = ts.server.services;
    const fleet = await setUpFleet(services, { productKey: uniqueProductKey('dl'), count: 0, firmwareBytes: 5000 });
    firmwareId = fleet.firmware.id;
    // The same key the server signs pushes with (kept in the database).
    tokens = await loadDownloadTokens(services.db, undefined, 60);
    const [row] = await queryRows<{ storage_key: string }>(services.db, sql`select storage_key from firmwares where id = ${firmwareId}`);
    const chunks: Buffer[] = [];
    for await (const chunk of services.firmwareStore.open(row.storage_key)) chunks.push(chunk as Buffer);
    file = Buffer.concat(chunks);
  });
  afterAll(() => ts?.close());

  it('streams the whole file with a valid token', async () => {
    const response = await fetch(url(firmwareId, tokens.mint(firmwareId)));
    expect(response.status).toBe(200);
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(response.headers.get('content-length')).toBe('5000');
    const body = Buffer.from(await response.arrayBuffer());
    expect(createHash('sha256').update(body).digest('hex')).toBe(createHash('sha256').update(file).digest('hex'));
  });

  it('resumes with Range requests', async () => {
    const token = tokens.mint(firmwareId);
    const get = (range: string, extra: Record<string, string> = {}) => fetch(url(firmwareId, token), { headers: { range, ...extra } });
    const middle = await get('bytes=100-199');
    expect(middle.status).toBe(206);
    expect(middle.headers.get('content-range')).toBe('bytes 100-199/5000');
    expect(Buffer.from(await middle.arrayBuffer()).equals(file.subarray(100, 200))).toBe(true);
    const rest = await get('bytes=4000-');
    expect(rest.headers.get('content-range')).toBe('bytes 4000-4999/5000');
    expect(Buffer.from(await rest.arrayBuffer()).equals(file.subarray(4000))).toBe(true);
    const suffix = await get('bytes=-50');
    expect(Buffer.from(await suffix.arrayBuffer()).equals(file.subarray(4950))).toBe(true);
    const beyond = await get('bytes=5000-');
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe('bytes */5000');
    // A resume against a file that changed (another ETag) gets the whole file.
    const changed = await get('bytes=100-199', { 'if-range': '"something-else"' });
    expect(changed.status).toBe(200);
    await changed.arrayBuffer();
    const head = await fetch(url(firmwareId, token), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('5000');
  });

  it('refuses missing, forged, expired and other-firmware tokens with 403, and unknown firmware with 404', async () => {
    const body = async (response: Response) => ({ status: response.status, ...((await response.json()) as { error: string }) });
    expect(await body(await fetch(url(firmwareId)))).toMatchObject({ status: 403, error: 'TOKEN_MISSING' });
    expect(await body(await fetch(url(firmwareId, 'forged')))).toMatchObject({ status: 403, error: 'TOKEN_INVALID' });
    const valid = tokens.mint(firmwareId);
    const tampered = valid.replace(/^\d+/, (expiry) => String(Number(expiry) + 3600));
    expect(await body(await fetch(url(firmwareId, tampered)))).toMatchObject({ status: 403, error: 'TOKEN_INVALID' });
    const expired = tokens.mint(firmwareId, Date.now() - 120_000);
    expect(await body(await fetch(url(firmwareId, expired)))).toMatchObject({ status: 403, error: 'TOKEN_EXPIRED' });
    const other = randomUUID();
    expect(await body(await fetch(url(other, valid)))).toMatchObject({ status: 403, error: 'TOKEN_INVALID' });
    expect(await body(await fetch(url(other, tokens.mint(other))))).toMatchObject({ status: 404, error: 'NOT_FOUND' });
    expect(await body(await fetch(`${ts.server.url}/firmware/not-an-id/download`))).toMatchObject({ status: 404 });
    expect((await fetch(url(firmwareId, valid), { method: 'POST' })).status).toBe(405);
  });
});
