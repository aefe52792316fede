/**
 * /healthz (liveness) and /readyz (readiness), docs/operations.md.
 *
 * - /healthz: the process serves HTTP. It checks nothing else, so that an orchestrator never
 *   restarts instances because a dependency they share is away (a restart would not bring it back).
 * - /readyz: start-up work is done, the instance is not shutting down, and each dependency is ok or
 *   down: `database`, `broker` (when this instance runs the device gateway), `redis` (when
 *   REDIS_URL is set). 503 when start-up is pending, the instance is closing, or a dependency named
 *   in READY_REQUIRES (default: database) is down; the others down make the status `degraded` (200).
 *
 * Neither answer ever carries error text: what went wrong is in the log, not in a public endpoint.
 * Other modules (the production kit, a process supervisor) build their own checks from
 * `createReadiness` and `Readiness.report`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DependencyName } from '../config.js';

export type DependencyState = 'ok' | 'down';

export interface DependencyCheck {
  name: DependencyName;
  /** Whether it answers now. A check that throws or takes longer than CHECK_TIMEOUT_MS is `down`. */
  probe(): Promise<boolean> | boolean;
}

export interface ReadinessReport {
  /** `ready`: everything ok; `degraded`: serving, a dependency not required is down; `unavailable`: 503. */
  status: 'ready' | 'degraded' | 'unavailable';
  /** Start-up work still running (names), or [] once done. */
  starting: string[];
  /** The instance is shutting down (load balancers should stop sending it requests). */
  closing: boolean;
  dependencies: Partial<Record<DependencyName, DependencyState>>;
}

export interface Readiness {
  /** Start-up work the instance must finish before it is ready; call the result when it is done. */
  startup(name: string): () => void;
  /** Adds a dependency check (the gateway's broker once it has started, say). */
  add(check: DependencyCheck): void;
  /** From now on the instance is not ready (shutting down). */
  close(): void;
  report(): Promise<ReadinessReport>;
  /** GET /readyz. */
  handleReady(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** GET /healthz. */
  handleLive(req: IncomingMessage, res: ServerResponse): void;
}

/** A dependency that does not answer within this long is down (a load balancer's probe times out at about 5 s). */
const CHECK_TIMEOUT_MS = 2000;

async function probeWithin(check: DependencyCheck): Promise<DependencyState> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
  });
  try {
    return (await Promise.race([Promise.resolve().then(() => check.probe()), timeout])) ? 'ok' : 'down';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

export function createReadiness(options: { requires: readonly DependencyName[] }): Readiness {
  const requires = new Set(options.requires);
  const starting = new Set<string>();
  const checks: DependencyCheck[] = [];
  let closing = false;
  /** Probes of one report are shared by the requests that arrive while it runs. */
  let running: Promise<ReadinessReport> | null = null;

  const evaluate = async (): Promise<ReadinessReport> => {
    const states = await Promise.all(checks.map(async (check) => [check.name, await probeWithin(check)] as const));
    const dependencies = Object.fromEntries(states) as ReadinessReport['dependencies'];
    const requiredDown = states.some(([name, state]) => state === 'down' && requires.has(name));
    const anyDown = states.some(([, state]) => state === 'down');
    const unavailable = closing || starting.size > 0 || requiredDown;
    return { status: unavailable ? 'unavailable' : anyDown ? 'degraded' : 'ready', starting: [...starting], closing, dependencies };
  };

  const readiness: Readiness = {
    startup(name) {
      starting.add(name);
      return () => void starting.delete(name);
    },
    add(check) {
      checks.push(check);
    },
    close() {
      closing = true;
    },
    report() {
      running ??= evaluate().finally(() => {
        running = null;
      });
      return running;
    },
    async handleReady(_req, res) {
      const report = await readiness.report();
      const status = report.status === 'unavailable' ? 503 : 200;
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(report));
    },
    handleLive(_req, res) {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ status: 'ok' }));
    },
  };
  return readiness;
}
