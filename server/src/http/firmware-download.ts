/**
 * GET (and HEAD) /firmware/{id}/download?token=… — the file a push's `fileUrl` points at.
 *
 * - The token (from the push, see devices/download-token.ts) is the only credential: devices have
 *   no API session. A missing, forged or expired token is 403 with a JSON body that says which.
 * - An unknown or deleted firmware, or one whose file is gone, is 404.
 * - A single `Range: bytes=…` is answered with 206 so a device can resume a dropped download;
 *   an unsatisfiable range is 416; `If-Range` with another ETag falls back to the whole file.
 *   Multi-range requests get the whole file (allowed by RFC 9110, and no device needs them).
 * - While the database is away, a firmware this instance served in the last LAST_SEEN_MS is served
 *   as it was last read (its file is on disk; a firmware never changes, and one in use by a job
 *   cannot be deleted), so devices in the middle of an upgrade keep downloading; any other is 503
 *   with Retry-After (docs/operations.md, PostgreSQL away).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { and, eq, isNull } from 'drizzle-orm';
import { firmwares } from '../db/schema.js';
import type { DownloadTokens } from '../devices/download-token.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import { isUuid } from '../db/keys.js';
import type { AppServices } from '../services.js';

const PATH = /^\/firmware\/([^/]+)\/download$/;

function sendError(res: ServerResponse, status: number, error: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ error, message }));
}

export type ByteRange = { start: number; end: number };

/** Parses one `bytes=` range against the file size: a range, 'unsatisfiable', or null (serve the whole file). */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/** How long a firmware row read for a download may stand in for the database while it is away. */
const LAST_SEEN_MS = 60 * 60_000;
/** Firmware rows remembered at most (one per firmware being rolled out, in practice). */
const LAST_SEEN_ENTRIES = 1000;

type FirmwareRow = typeof firmwares.$inferSelect;

export function createFirmwareDownloadHandler(services: AppServices, tokens: () => DownloadTokens | null) {
  const lastSeen = new Map<string, { row: FirmwareRow; at: number }>();
  /** The firmware, or null (unknown or deleted), or 'unavailable' (the database is away and it was not seen lately). */
  const readFirmware = async (firmwareId: string): Promise<FirmwareRow | null | 'unavailable'> => {
    try {
      const [row] = await services.db
        .select()
        .from(firmwares)
        .where(and(eq(firmwares.id, firmwareId), isNull(firmwares.deletedAt)));
      lastSeen.delete(firmwareId);
      if (row) {
        if (lastSeen.size >= LAST_SEEN_ENTRIES) lastSeen.delete(lastSeen.keys().next().value!);
        lastSeen.set(firmwareId, { row, at: Date.now() });
      }
      return row ?? null;
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      const seen = lastSeen.get(firmwareId);
      return seen && Date.now() - seen.at < LAST_SEEN_MS ? seen.row : 'unavailable';
    }
  };
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = PATH.exec(url.pathname);
    if (!match || !isUuid(match[1])) return sendError(res, 404, 'NOT_FOUND', 'No such download: the path is /firmware/{id}/download');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendError(res, 405, 'METHOD_NOT_ALLOWED', 'Use GET or HEAD');
    }
    const firmwareId = match[1].toLowerCase();
    const token = url.searchParams.get('token');
    const issuer = tokens();
    if (!issuer) return sendError(res, 503, 'UNAVAILABLE', 'Firmware downloads are not available yet');
    if (!token) return sendError(res, 403, 'TOKEN_MISSING', 'A download token is required: use the fileUrl of the upgrade push');
    const check = issuer.check(firmwareId, token);
    if (!check.ok) {
      const message =
        check.reason === 'expired'
          ? 'The download token has expired: ask for the upgrade again (getversion) to get a fresh fileUrl'
          : 'The download token is not valid for this firmware';
      return sendError(res, 403, check.reason === 'expired' ? 'TOKEN_EXPIRED' : 'TOKEN_INVALID', message);
    }

    const firmware = await readFirmware(firmwareId);
    if (firmware === 'unavailable') {
      res.setHeader('retry-after', '5');
      return sendError(res, 503, 'UNAVAILABLE', 'Firmware downloads are briefly unavailable: try again in a few seconds');
    }
    const size = firmware ? await services.firmwareStore.size(firmware.storageKey) : null;
    if (!firmware || size === null) return sendError(res, 404, 'NOT_FOUND', 'This firmware does not exist or was deleted');

    const etag = `"${firmware.sign}"`;
    const headers: Record<string, string | number> = {
      'content-type': 'application/octet-stream',
      'content-disposition': `attachment; filename="${firmware.fileName.replace(/["\\\r\n]/g, '_')}"`,
      'accept-ranges': 'bytes',
      etag,
      'cache-control': 'private, no-transform',
    };
    const ifRange = req.headers['if-range'];
    const range = ifRange && ifRange !== etag ? null : parseRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` }).end();
      return;
    }
    if (range) {
      headers['content-range'] = `bytes ${range.start}-${range.end}/${size}`;
      headers['content-length'] = range.end - range.start + 1;
      res.writeHead(206, headers);
    } else {
      headers['content-length'] = size;
      res.writeHead(200, headers);
    }
    if (req.method === 'HEAD' || size === 0) return void res.end();
    try {
      await pipeline(services.firmwareStore.open(firmware.storageKey, range ?? undefined), res);
    } catch {
      // The device went away mid-transfer; it resumes with a Range request.
      res.destroy();
    }
  };
}
