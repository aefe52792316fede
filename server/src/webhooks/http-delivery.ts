/**
 * One delivery attempt: a POST of the signed payload, within a timeout, through the target
 * policy's lookup (only checked addresses are connected to). Redirects are not followed (a 3xx is a
 * failure that names where it pointed), and at most `maxResponseBytes` of the answer are read: a
 * receiver that streams forever costs nothing but the timeout.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from '../domain/webhooks/targets.js';

export interface AttemptRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  maxResponseBytes: number;
  lookup: LookupFunction;
}

export interface AttemptResult {
  ok: boolean;
  status: number | null;
  latencyMs: number;
  /** What went wrong, for the delivery log (never the secret or the payload). */
  error: string | null;
  body: string | null;
  /** The receiver looked unavailable (no connection, timeout, 5xx, 429): the whole endpoint waits. */
  unavailable: boolean;
}

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 16, keepAliveMsecs: 10_000 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 16, keepAliveMsecs: 10_000 }),
};

export function sendAttempt(request: AttemptRequest): Promise<AttemptResult> {
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Omit<AttemptResult, 'latencyMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, latencyMs: latency() });
    };
    const url = new URL(request.url);
    const secure = url.protocol === 'https:';
    const req = (secure ? https : http).request(
      url,
      {
        method: 'POST',
        agent: secure ? agents.https : agents.http,
        headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
        lookup: request.lookup as never,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          const body = Buffer.concat(chunks).subarray(0, request.maxResponseBytes).toString('utf8');
          const ok = status >= 200 && status < 300;
          let error: string | null = null;
          if (status >= 300 && status < 400) error = `redirect not followed (${status} to ${String(res.headers.location ?? 'nowhere').slice(0, 300)})`;
          else if (!ok) error = `HTTP ${status}`;
          finish({ ok, status, error, body: body || null, unavailable: status >= 500 || status === 429 || status === 408 });
        };
        res.on('data', (chunk: Buffer) => {
          if (size >= request.maxResponseBytes) return;
          chunks.push(chunk);
          size += chunk.length;
          if (size >= request.maxResponseBytes) {
            // Enough read: the rest is not wanted (and the socket is not reused).
            done();
            res.destroy();
          }
        });
        res.on('end', done);
        res.on('error', () => done());
        res.on('aborted', () => done());
      },
    );
    const timer = setTimeout(() => {
      finish({ ok: false, status: null, error: `no answer within ${request.timeoutMs} ms`, body: null, unavailable: true });
      req.destroy();
    }, request.timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => {
      const refused = error.code === 'ETARGETREFUSED';
      finish({
        ok: false,
        status: null,
        error: refused ? error.message : `${error.code ?? 'error'}: ${error.message}`.slice(0, 500),
        body: null,
        unavailable: true,
      });
    });
    req.end(request.body);
  });
}
