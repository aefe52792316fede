/**
 * Serves the built dashboard (web/dist) at /, with index.html for every client-side route.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

export function createStaticHandler(root: string) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let decoded: string;
    try {
      decoded = decodeURIComponent(url.pathname);
    } catch {
      // A malformed percent-encoding (`/%E0%A4%A`) is the client's mistake, not the server's.
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('Bad request: the path is not valid percent-encoded UTF-8');
      return;
    }
    const requested = path.normalize(decoded).replace(/^(\.\.[/\\])+/, '');
    let file = path.join(root, requested);
    if (!file.startsWith(root)) file = path.join(root, 'index.html');
    let info = await stat(file).catch(() => null);
    const isAsset = path.extname(requested) !== '';
    if (!info?.isFile()) {
      if (isAsset) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
        return;
      }
      file = path.join(root, 'index.html');
      info = await stat(file).catch(() => null);
      if (!info) {
        res
          .writeHead(503, { 'content-type': 'text/plain; charset=utf-8' })
          .end('The dashboard is not built: run `pnpm --filter @updraft/web build`. The API is at /graphql.');
        return;
      }
    }
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      // Vite fingerprints assets; index.html must always be fresh.
      'cache-control': file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  };
}
