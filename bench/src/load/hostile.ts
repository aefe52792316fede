/**
 * Worker: hostile clients. `clients` connections send a hostile document over and over (each
 * with a fresh random comment, so no parse cache helps the server), while one more client asks
 * /healthz every `healthEveryMs` and times each answer.
 */
import http from 'node:http';
import { serve } from '../workers.js';

function request(url: URL, method: string, agent: http.Agent, body?: Buffer): Promise<{ status: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(
      url,
      {
        method,
        agent,
        headers: body ? { 'content-type': 'application/json', accept: 'application/graphql-response+json', 'content-length': body.length } : {},
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve({ status: response.statusCode ?? 0, ms: performance.now() - started }));
        response.on('error', reject);
      },
    );
    // The server may answer (413) and close before it has read a long body.
    req.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EPIPE' || error.code === 'ECONNRESET' ? resolve({ status: 0, ms: performance.now() - started }) : reject(error),
    );
    req.end(body);
  });
}

export interface AttackResult {
  requests: number;
  statuses: Record<string, number>;
  healthLatencies: number[];
}

serve({
  async attack(args: { url: string; healthUrl: string; document: string; clients: number; durationMs: number; healthEveryMs: number }): Promise<AttackResult> {
    const url = new URL(args.url);
    const until = performance.now() + args.durationMs;
    const statuses: Record<string, number> = {};
    let requests = 0;
    const attacker = async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      while (performance.now() < until) {
        const body = Buffer.from(JSON.stringify({ query: `${args.document} # ${Math.random()}` }));
        const { status } = await request(url, 'POST', agent, body);
        statuses[status] = (statuses[status] ?? 0) + 1;
        requests++;
      }
      agent.destroy();
    };
    const healthLatencies: number[] = [];
    const health = async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const healthUrl = new URL(args.healthUrl);
      while (performance.now() < until) {
        const { status, ms } = await request(healthUrl, 'GET', agent);
        if (status !== 200) throw new Error(`/healthz answered ${status}`);
        healthLatencies.push(ms);
        await new Promise((resolve) => setTimeout(resolve, args.healthEveryMs));
      }
      agent.destroy();
    };
    await Promise.all([...Array.from({ length: args.clients }, attacker), health()]);
    return { requests, statuses, healthLatencies };
  },
});
