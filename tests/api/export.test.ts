/**
 * CSV exports of a job's tab (with its searches) and of the Devices page: exactly the rows the
 * search shows, in operator words, safe to open in a spreadsheet; the API's credentials, permissions
 * and unit scoping; and a 100,000-device tab streamed without the server holding it.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usingPostgres } from '../support/database.js';
import { createProduct, createUpgradeJob, registerDevices, rawId, setTaskStates, uploadFirmware } from '../support/fixtures.js';
import { bearer, startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
let jobId: string;

/** RFC 4180 rows (quoted fields with commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const body = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (quoted) {
      if (c === '"' && body[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && body[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  return rows;
}

/** The process's garbage collector (exposed at run time: the heap then holds only what is kept). */
function exposedGc(): () => void {
  setFlagsFromString('--expose_gc');
  return runInNewContext('gc') as () => void;
}

async function download(path: string, headers: Record<string, string> = bearer(t.adminToken)) {
  const response = await fetch(`${t.server.url}${path}`, { headers });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

beforeAll(async () => {
  t = await startTestServer({ engineEnabled: false });
  await createProduct(t, 'meter');
  await registerDevices(
    t,
    'meter',
    Array.from({ length: 12 }, (_, i) => ({
      deviceKey: `m-${String(i + 1).padStart(2, '0')}`,
      firmwareVersion: '1.0',
      tags: [{ key: 'site', value: i < 6 ? 'north' : 'south' }],
    })),
  );
  const firmwareId = (await uploadFirmware(t, { productKey: 'meter', name: 'fw', version: '2.0' })).id;
  jobId = await createUpgradeJob(t, { firmwareId, name: 'Roll out 2.0, north', scope: { allDevices: true } });
  await setTaskStates(t, jobId, {
    'm-01': { status: 'FAILED', reason: 'DOWNLOAD_FAILED', currentVersion: '1.0' },
    'm-02': { status: 'FAILED', reason: 'TIMEOUT', currentVersion: '1.0' },
    'm-03': { status: 'FAILED', reason: 'DOWNLOAD_FAILED', currentVersion: '1.1' },
    'm-04': { status: 'SUCCEEDED' },
  });
  // What a device says is kept as detail: it may look like a formula or hold commas and quotes.
  await t.database.handle.rawQuery(`update job_tasks set failure_detail = $2 where job_id = $1 and device_key = 'm-01'`, [
    rawId(jobId),
    '=HYPERLINK("http://evil.example","x"), then "more"',
  ]);
}, 120_000);
afterAll(async () => {
  await t?.close();
});

describe('a job tab as CSV', () => {
  it('has exactly the rows of the search, in operator words, spreadsheet-safe', async () => {
    const all = await download(`/export/jobs/${encodeURIComponent(jobId)}/devices.csv?status=FAILED&failureReason=DOWNLOAD_FAILED`);
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(all.headers.get('content-disposition')).toBe('attachment; filename="Roll-out-2.0-north-Upgrade-Failed.csv"');
    const rows = parseCsv(all.text);
    expect(rows[0].slice(0, 3)).toEqual(['Device key', 'Status', 'Progress (%)']);
    expect(rows.slice(1).map((r) => r[0])).toEqual(['m-01', 'm-03']);
    const header = rows[0];
    const m01 = Object.fromEntries(header.map((h, i) => [h, rows[1][i]]));
    expect(m01).toMatchObject({ Status: 'Upgrade Failed', 'Failure reason': 'Firmware download failed', 'Current version': '1.0' });
    // Prefixed so that a spreadsheet shows it as text instead of running it.
    expect(m01['Failure detail']).toBe(`'=HYPERLINK("http://evil.example","x"), then "more"`);
    expect(m01['Failed at (UTC)']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

    const version = parseCsv((await download(`/export/jobs/${encodeURIComponent(jobId)}/devices.csv?status=FAILED&currentVersion=1.1`)).text);
    expect(version.slice(1).map((r) => r[0])).toEqual(['m-03']);
    const byKey = parseCsv(
      (await download(`/export/jobs/${encodeURIComponent(jobId)}/devices.csv?status=TO_BE_PUSHED&deviceKey=m-1&deviceKeyMatch=PREFIX`)).text,
    );
    expect(byKey.slice(1).map((r) => r[0])).toEqual(['m-10', 'm-11', 'm-12']);
    const whole = parseCsv((await download(`/export/jobs/${encodeURIComponent(jobId)}/devices.csv`)).text);
    expect(whole.length - 1).toBe(12);
  });

  it('refuses bad parameters by name before sending anything, and answers as the API does', async () => {
    const path = `/export/jobs/${encodeURIComponent(jobId)}/devices.csv`;
    const bad = await download(`${path}?status=LOST`);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toMatchObject({ error: 'INVALID_INPUT', message: expect.stringContaining('status') });
    const reversed = await download(`${path}?failedAfter=2026-12-02T00:00:00Z&failedBefore=2026-12-01T00:00:00Z`);
    expect(reversed.status).toBe(400);
    expect(JSON.parse(reversed.text).message).toMatch(/failedBefore/);
    const wrongTab = await download(`${path}?status=PUSHED&failureReason=TIMEOUT`);
    expect(wrongTab.status).toBe(400);

    expect((await download(path, {})).status).toBe(401);
    expect((await download(path, { authorization: 'Bearer nonsense' })).status).toBe(401);
    const fleetOnly = await t.createUser({ permissions: ['DEVICE_READ'] });
    const denied = await download(path, fleetOnly.headers);
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.text).message).toContain('OTA_READ');
    const stranger = await t.createUser({ permissions: ['OTA_READ', 'DEVICE_READ'], ouName: 'Another unit' });
    expect((await download(path, stranger.headers)).status).toBe(404);
    expect((await download('/export/jobs/not-an-id/devices.csv')).status).toBe(404);
    // The stranger's fleet export holds none of this unit's devices.
    expect(parseCsv((await download('/export/devices.csv', stranger.headers)).text)).toHaveLength(1);
  });
});

describe('the Devices page as CSV', () => {
  it('has the devices of the filters', async () => {
    const rows = parseCsv((await download('/export/devices.csv?productKey=meter&search=m-1')).text);
    expect(rows[0]).toEqual(['Product key', 'Device key', 'Name', 'Online', 'Current version', 'Tags', 'Last seen (UTC)', 'Registered at (UTC)']);
    expect(rows.slice(1).map((r) => r[1])).toEqual(['m-10', 'm-11', 'm-12']);
    expect(rows[1]).toMatchObject({ 0: 'meter', 3: 'offline', 4: '1.0', 5: 'site=south' });
    expect((await download('/export/devices.csv?online=maybe')).status).toBe(400);
    expect(parseCsv((await download('/export/devices.csv?online=true')).text)).toHaveLength(1);
    const operator = await t.createUser({ permissions: ['OTA_READ'] });
    expect((await download('/export/devices.csv', operator.headers)).status).toBe(403);
  });
});

describe.skipIf(!usingPostgres)('a 100,000-device tab', () => {
  it('streams: every row arrives, the server holds one page at a time', async () => {
    const TASKS = 100_000;
    await createProduct(t, 'big');
    await t.database.handle.rawQuery(
      `insert into devices (ou_id, product_id, device_key, secret_hash, firmware_version, tags)
       select p.ou_id, p.id, 'dev-' || lpad(i::text, 6, '0'), md5(i::text), '1.0', '{}'::jsonb
       from products p, generate_series(1, ${TASKS}) i where p.product_key = 'big'`,
    );
    const firmwareId = (await uploadFirmware(t, { productKey: 'big', name: 'big fw', version: '2.0' })).id;
    const big = await createUpgradeJob(t, { firmwareId, name: 'Big', scope: { allDevices: true } });

    const gc = exposedGc();
    gc();
    const held = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.external + m.arrayBuffers;
    };
    const baseline = held();
    const rowsBefore = await t.server.services.metrics.value('updraft_export_rows_total');
    const response = await fetch(`${t.server.url}/export/jobs/${encodeURIComponent(big)}/devices.csv`, { headers: bearer(t.adminToken) });
    const reader = response.body!.getReader();
    // Read as a client does, counting lines without keeping the file.
    let lines = 0;
    let bytes = 0;
    let last = '';
    let retainedMb = Number.NaN;
    let sentWhilePaused = Number.NaN;
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      const text = decoder.decode(value, { stream: true });
      lines += text.split('\n').length - 1;
      last = (last + text).slice(-200);
      if (Number.isNaN(retainedMb) && bytes > 256 * 1024) {
        // The reader stops for a while: the server must wait for it, not read the rest of the tab.
        await new Promise((resolve) => setTimeout(resolve, 1500));
        sentWhilePaused = (await t.server.services.metrics.value('updraft_export_rows_total')) - rowsBefore;
        gc();
        retainedMb = (held() - baseline) / 1024 / 1024;
      }
    }
    console.log(
      `export of ${TASKS} tasks: ${(bytes / 1024 / 1024).toFixed(1)} MB of CSV; with the reader paused after 256 KB the server had read ${sentWhilePaused} rows and the process held ${retainedMb.toFixed(1)} MB more (heap and buffers)`,
    );
    expect(lines).toBe(TASKS + 1);
    expect(last).toMatch(/dev-100000,To be Pushed,0,1\.0,/);
    expect((await t.server.services.metrics.value('updraft_export_rows_total')) - rowsBefore).toBe(TASKS);
    // Backpressure: a paused reader holds the export a little past what it read (the sockets' buffers).
    expect(sentWhilePaused).toBeLessThan(TASKS * 0.75);
    // Holding the tab (100,000 rows as objects, or the file as one string) would hold far more; what
    // is held includes this client's own buffers (it runs in the same process).
    expect(retainedMb).toBeLessThan((bytes / 1024 / 1024) * 0.6);
  }, 300_000);
});
