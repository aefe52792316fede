/**
 * Where the machine's CPU went during a measurement (Linux /proc; empty elsewhere): this process
 * (the server under test), given worker processes (load generators), PostgreSQL's processes, and
 * everything else on the machine (it is shared). On a 2-core machine this is what says whether a
 * figure is bounded by the server, the database, the load or the neighbours.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { figure, type Figure } from './results.js';

const TICK_MS = 10; // CLK_TCK = 100 on Linux

function ticksOf(pid: number | 'self'): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return 0;
  }
}

function postgresPids(): number[] {
  const pids: number[] = [];
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') pids.push(Number(entry));
      } catch {
        // gone
      }
    }
  } catch {
    // no /proc
  }
  return pids;
}

function machineTicks(): { busy: number; total: number } {
  try {
    const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    const n = values.map(Number);
    const idle = n[3] + (n[4] ?? 0);
    const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

export interface CpuShares {
  /** Cores' worth of CPU (1.0 = one core busy all the time) over the measured wall time. */
  server: number;
  workers: number;
  postgres: number;
  others: number;
  idle: number;
}

export interface CpuMeter {
  stop(): CpuShares | null;
}

export function meterCpu(workerPids: number[]): CpuMeter {
  const pgPids = postgresPids();
  const start = {
    at: performance.now(),
    machine: machineTicks(),
    server: ticksOf('self'),
    workers: workerPids.map(ticksOf),
    postgres: new Map(pgPids.map((pid) => [pid, ticksOf(pid)])),
  };
  return {
    stop() {
      const wallMs = performance.now() - start.at;
      const machine = machineTicks();
      if (machine.total === 0 || wallMs <= 0) return null;
      const cores = (ticks: number) => (ticks * TICK_MS) / wallMs;
      const server = cores(ticksOf('self') - start.server);
      const workers = cores(workerPids.reduce((sum, pid, i) => sum + ticksOf(pid) - start.workers[i], 0));
      // Backends that came and went are missed: a lower bound.
      let pgTicks = 0;
      for (const pid of postgresPids()) pgTicks += ticksOf(pid) - (start.postgres.get(pid) ?? 0);
      const postgres = cores(pgTicks);
      const busy = cores(machine.busy - start.machine.busy);
      const all = cores(machine.total - start.machine.total);
      return {
        server,
        workers,
        postgres,
        others: Math.max(0, busy - server - workers - postgres),
        idle: Math.max(0, all - busy),
      };
    },
  };
}

export function describeCpu(shares: CpuShares | null): string {
  if (!shares) return 'CPU shares unavailable (no /proc)';
  const f = (x: number) => x.toFixed(2);
  return `CPU in cores: server ${f(shares.server)}, load generators ${f(shares.workers)}, PostgreSQL ${f(shares.postgres)}, other processes ${f(shares.others)}, idle ${f(shares.idle)}`;
}

/** The shares as figures (cores, median over the repetitions). */
export function cpuFigures(shares: CpuShares[], when: string): Figure[] {
  if (shares.length === 0) return [];
  const of = (key: keyof CpuShares) => shares.map((s) => s[key]);
  return [
    figure(`CPU ${when}: server process`, 'cores', of('server')),
    figure(`CPU ${when}: PostgreSQL`, 'cores', of('postgres')),
    figure(`CPU ${when}: load generators (devices, subscribers)`, 'cores', of('workers')),
    figure(`CPU ${when}: other processes on the machine`, 'cores', of('others')),
    figure(`CPU ${when}: idle`, 'cores', of('idle')),
  ];
}
