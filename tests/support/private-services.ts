/**
 * Private Redis and PostgreSQL processes for fault tests: each on a free port, stopped and started
 * by the test, removed afterwards. The machine's shared services are never touched.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import { promisify } from 'node:util';
import { freePort, waitFor } from '../engine/support.js';

const run = promisify(execFile);

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

export interface PrivateRedis {
  url: string;
  /** SIGKILL: gone at once, as a crashed Redis is. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: it keeps nothing). */
  start(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const redis: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      await waitFor(() => answers(port), { what: `redis on ${port}`, timeoutMs: 10_000 });
    },
    async kill() {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGKILL');
      await exited;
    },
  };
  await redis.start();
  return redis;
}

export interface PrivatePostgres {
  /** The cluster's `postgres` database (trust authentication, user postgres). */
  adminUrl: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops and removes the cluster. */
  drop(): Promise<void>;
}

/** A PostgreSQL 15 cluster of its own (pg_createcluster), for tests that stop the database. */
export async function createPrivatePostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const name = `updraft_fault_${randomBytes(4).toString('hex')}`;
  await run('pg_createcluster', ['15', name, '-p', String(port), '--', '--auth=trust']);
  const ctl = (action: string, ...extra: string[]) => run('pg_ctlcluster', ['--skip-systemctl-redirect', '15', name, action, ...extra]);
  const cluster: PrivatePostgres = {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      await ctl('start');
      await waitFor(() => answers(port), { what: `postgres on ${port}`, timeoutMs: 30_000 });
    },
    async stop() {
      // Fast: open connections are ended at once, as a crashed or restarted server ends them.
      await ctl('stop', '-m', 'fast');
    },
    async drop() {
      await run('pg_dropcluster', ['15', name, '--stop']);
    },
  };
  try {
    await cluster.start();
  } catch (error) {
    await cluster.drop().catch(() => {});
    throw error;
  }
  return cluster;
}
