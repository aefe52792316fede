/**
 * Worker: an HTTP client that sends the same POST over and over on one keep-alive connection and
 * times each response (headers to last byte, body read in full), as a dashboard or an integration
 * fetching a page would.
 */
import http from 'node:http';
import { serve } from '../workers.js';

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function post(url: URL, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const request = http.request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } },
      (response) => {
        let bytes = 0;
        response.on('data', (chunk: Buffer) => (bytes += chunk.length));
        response.on('end', () => {
          if (response.statusCode !== 200 || bytes === 0) reject(new Error(`HTTP ${response.statusCode} from ${url}`));
          else resolve(performance.now() - started);
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

export interface TimedRun {
  url: string;
  body: string;
  headers: Record<string, string>;
  count: number;
}

serve({
  /** Latencies in milliseconds of `count` sequential requests per run, runs interleaved in blocks. */
  async time(args: { runs: TimedRun[]; blocks: number }): Promise<number[][]> {
    const latencies = args.runs.map(() => [] as number[]);
    for (let block = 0; block < args.blocks; block++) {
      for (const [i, run] of args.runs.entries()) {
        const url = new URL(run.url);
        const n = Math.ceil(run.count / args.blocks);
        for (let k = 0; k < n; k++) latencies[i].push(await post(url, run.body, run.headers));
      }
    }
    return latencies;
  },
});
