/**
 * CSV exports (docs/dashboard.md "Export"): a job's tab with its searches, and the Devices page with
 * its filters, streamed. Rows are read in keyset pages of EXPORT_PAGE in device-key order and
 * written as they come, waiting for the socket to drain: however large the result, the server
 * holds one page. Same credentials as the API (session cookie or Bearer token), same permissions,
 * same unit scoping; bad parameters are 400 with a JSON body naming them, before anything is sent.
 *
 * GET /export/jobs/{jobId}/devices.csv?status=&deviceKey=&deviceKeyMatch=&currentVersion=&failureReason=&failedAfter=&failedBefore=
 * GET /export/devices.csv?productKey=&search=&online=true|false
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { RequestAuth } from '../auth/authenticate.js';
import { isUuid } from '../db/keys.js';
import { devices, FAILURE_REASONS, type FailureReason, products, TASK_STATUSES, type TaskStatus } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { deviceCondition } from '../domain/devices.js';
import { DomainError, InvalidInputError } from '../domain/errors.js';
import { findJob } from '../domain/jobs/queries.js';
import { findProductId } from '../domain/products.js';
import type { KeyMatch } from '../domain/sql.js';
import { FAILURE_REASON_LABELS, STATUS_LABELS, WAITING_REASON_LABELS } from '../domain/tasks/rules.js';
import { normaliseTaskFilter, searchTasks, type TaskFilter } from '../domain/tasks/search.js';
import type { AppServices } from '../services.js';

/** Rows per read: large enough that a 100,000-row export is 100 reads, small enough to hold. */
export const EXPORT_PAGE = 1000;

const JOB_PATH = /^\/export\/jobs\/([^/]+)\/devices\.csv$/;
const DEVICES_PATH = '/export/devices.csv';

/**
 * One CSV field (RFC 4180). A field a spreadsheet would run as a formula (=, +, -, @, tab, CR at
 * its start) is prefixed with ' : device keys, versions and failure details come from devices.
 */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const csvLine = (fields: (string | number | null | undefined)[]) => `${fields.map(csvField).join(',')}\r\n`;
const iso = (d: Date | null) => (d ? d.toISOString() : '');

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ error: code, message }));
}

/** Writes a chunk; resolves once the socket can take more (or at once), false when the client left. */
function write(res: ServerResponse, chunk: string): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

/** A file name from a job's name: letters, digits, dot, dash and underscore only. */
function fileName(...parts: string[]): string {
  return `${parts
    .join('-')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 120)}.csv`;
}

function startCsv(res: ServerResponse, name: string): void {
  res.writeHead(200, {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': `attachment; filename="${name}"`,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
}

function enumParam<T extends string>(params: URLSearchParams, name: string, allowed: readonly T[]): T | null {
  const value = params.get(name);
  if (value === null || value === '') return null;
  if (!allowed.includes(value as T)) throw InvalidInputError.single([name], `must be one of ${allowed.join(', ')}`);
  return value as T;
}

function timeParam(params: URLSearchParams, name: string): Date | null {
  const value = params.get(name);
  if (value === null || value === '') return null;
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) throw InvalidInputError.single([name], 'must be an ISO 8601 time');
  return time;
}

function textParam(params: URLSearchParams, name: string, max = 256): string | null {
  const value = params.get(name);
  if (value === null || value === '') return null;
  if (value.length > max) throw InvalidInputError.single([name], `must be at most ${max} characters`);
  return value;
}

/** The job tab's filter from the query string, as the API's devices(…) arguments read it. */
function taskFilterOf(params: URLSearchParams): TaskFilter {
  return normaliseTaskFilter({
    status: enumParam<TaskStatus>(params, 'status', TASK_STATUSES),
    deviceKey: textParam(params, 'deviceKey'),
    deviceKeyMatch: enumParam<KeyMatch>(params, 'deviceKeyMatch', ['EXACT', 'PREFIX', 'CONTAINS']),
    currentVersion: textParam(params, 'currentVersion'),
    failureReason: enumParam<FailureReason>(params, 'failureReason', FAILURE_REASONS),
    failedAfter: timeParam(params, 'failedAfter'),
    failedBefore: timeParam(params, 'failedBefore'),
  });
}

const TASK_HEADER = [
  'Device key',
  'Status',
  'Progress (%)',
  'Version before',
  'Current version',
  'Attempt',
  'Failure reason',
  'Failure detail',
  'Waiting because',
  'Pushed at (UTC)',
  'Failed at (UTC)',
  'Finished at (UTC)',
  'Updated at (UTC)',
];

async function exportJobTab(services: AppServices, caller: Caller, jobGlobalId: string, params: URLSearchParams, res: ServerResponse): Promise<void> {
  let jobId: string | null = null;
  try {
    const decoded = decodeGlobalID(decodeURIComponent(jobGlobalId));
    if (decoded.typename === 'OtaJob' && isUuid(decoded.id)) jobId = decoded.id;
  } catch {
    // not a global ID
  }
  const job = jobId ? await findJob(services.db, caller, jobId) : null;
  if (!job) return sendError(res, 404, 'NOT_FOUND', `OtaJob ${JSON.stringify(jobGlobalId)} was not found`);
  const filter = taskFilterOf(params);
  startCsv(res, fileName(job.name, filter.status ? STATUS_LABELS[filter.status] : 'all-devices'));
  if (!(await write(res, `\uFEFF${csvLine(TASK_HEADER)}`))) return;
  let after: string | null = null;
  for (;;) {
    const rows = await searchTasks(services.db, job.id, filter, { after, limit: EXPORT_PAGE, inverted: false });
    let chunk = '';
    for (const t of rows) {
      chunk += csvLine([
        t.deviceKey,
        STATUS_LABELS[t.status],
        t.progress,
        t.srcVersion,
        t.currentVersion,
        t.attempt,
        t.failureReason ? FAILURE_REASON_LABELS[t.failureReason] : '',
        t.failureDetail,
        t.status === 'TO_BE_PUSHED' && t.waitingReason ? WAITING_REASON_LABELS[t.waitingReason] : '',
        iso(t.pushedAt),
        iso(t.failedAt),
        iso(t.finishedAt),
        iso(t.updatedAt),
      ]);
    }
    services.metrics.exportRows.inc(rows.length);
    if (chunk && !(await write(res, chunk))) return;
    if (rows.length < EXPORT_PAGE) break;
    after = rows[rows.length - 1].deviceKey;
  }
  res.end();
}

interface DeviceExportRow {
  productKey: string;
  deviceKey: string;
  name: string;
  online: boolean;
  firmwareVersion: string | null;
  tags: Record<string, string>;
  lastSeenAt: Date | null;
  createdAt: Date;
}

const DEVICE_HEADER = ['Product key', 'Device key', 'Name', 'Online', 'Current version', 'Tags', 'Last seen (UTC)', 'Registered at (UTC)'];

async function exportDevices(services: AppServices, caller: Caller, params: URLSearchParams, res: ServerResponse): Promise<void> {
  const productKey = textParam(params, 'productKey');
  const search = textParam(params, 'search');
  const online = params.get('online');
  if (online && online !== 'true' && online !== 'false') throw InvalidInputError.single(['online'], 'must be true or false');
  const productId = await findProductId(services.db, caller, productKey);
  const condition = deviceCondition(caller, { productId, search, online: online ? online === 'true' : null });
  startCsv(res, fileName('devices', productKey ?? 'all-products'));
  if (!(await write(res, `\uFEFF${csvLine(DEVICE_HEADER)}`))) return;
  // Keyset over (product key, device key): the order of the page, one index range per read.
  let after: { productKey: string; deviceKey: string } | null = null;
  for (;;) {
    const rows: DeviceExportRow[] = await services.db
      .select({
        productKey: products.productKey,
        deviceKey: devices.deviceKey,
        name: devices.name,
        online: devices.online,
        firmwareVersion: devices.firmwareVersion,
        tags: devices.tags,
        lastSeenAt: devices.lastSeenAt,
        createdAt: devices.createdAt,
      })
      .from(devices)
      .innerJoin(products, eqProduct())
      .where(and(condition(devices), after ? gt(rowKey(), rowValue(after)) : undefined))
      .orderBy(asc(products.productKey), asc(devices.deviceKey))
      .limit(EXPORT_PAGE);
    let chunk = '';
    for (const d of rows) {
      chunk += csvLine([
        d.productKey,
        d.deviceKey,
        d.name,
        d.online ? 'online' : 'offline',
        d.firmwareVersion,
        Object.entries(d.tags)
          .map(([k, v]) => `${k}=${v}`)
          .join('; '),
        iso(d.lastSeenAt),
        iso(d.createdAt),
      ]);
    }
    services.metrics.exportRows.inc(rows.length);
    if (chunk && !(await write(res, chunk))) return;
    if (rows.length < EXPORT_PAGE) break;
    const last = rows[rows.length - 1];
    after = { productKey: last.productKey, deviceKey: last.deviceKey };
  }
  res.end();
}

const eqProduct = () => eq(products.id, devices.productId);
const rowKey = () => sql`(${products.productKey}, ${devices.deviceKey})`;
const rowValue = (after: { productKey: string; deviceKey: string }) => sql`(${after.productKey}::text collate "C", ${after.deviceKey}::text collate "C")`;

/** Rows written to export responses so far (/metrics); a test reads it to see the stream wait for its reader. */

export function createExportHandler(services: AppServices, authenticate: (req: IncomingMessage) => Promise<RequestAuth>) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const jobMatch = JOB_PATH.exec(url.pathname);
    if (!jobMatch && url.pathname !== DEVICES_PATH) {
      return sendError(res, 404, 'NOT_FOUND', 'No such export: /export/jobs/{jobId}/devices.csv or /export/devices.csv');
    }
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      return sendError(res, 405, 'METHOD_NOT_ALLOWED', 'Use GET');
    }
    const auth = await authenticate(req);
    if (!auth.caller) return sendError(res, 401, 'UNAUTHENTICATED', auth.problem ?? 'Sign in, or send "Authorization: Bearer <API token>"');
    const caller = auth.caller;
    const needed = jobMatch ? 'OTA_READ' : 'DEVICE_READ';
    if (!caller.permissions.has(needed)) {
      return sendError(res, 403, 'FORBIDDEN', `You lack the permission ${needed}: ask the administrator of your organisation unit`);
    }
    try {
      if (jobMatch) await exportJobTab(services, caller, jobMatch[1], url.searchParams, res);
      else await exportDevices(services, caller, url.searchParams, res);
    } catch (error) {
      if (res.headersSent) {
        // Mid-stream: the file is cut short rather than ending as if complete.
        services.log.error({ err: error }, 'export failed mid-stream');
        res.destroy();
        return;
      }
      if (error instanceof DomainError) return sendError(res, error instanceof InvalidInputError ? 400 : 404, error.code, error.message);
      throw error;
    }
  };
}
