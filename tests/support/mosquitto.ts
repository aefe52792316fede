/**
 * A private Mosquitto for fault tests: its own listener on a free port (MQTT 5, shared
 * subscriptions), its own persistence directory, started and killed by pid. The machine's shared
 * broker on 1883 is never touched.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../engine/support.js';

export interface PrivateMosquitto {
  url: string;
  port: number;
  /** Starts it again on the same port and persistence file. */
  start(): Promise<void>;
  /** SIGKILL (default) or SIGTERM; resolves once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  close(): Promise<void>;
}

export async function startMosquitto(options: { persistence?: boolean } = {}): Promise<PrivateMosquitto> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'updraft-mosquitto-'));
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  await writeFile(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      // As root, Mosquitto would switch to the mosquitto user, which cannot write this directory.
      `user ${os.userInfo().username}`,
      // Large fleets in one burst: no queue limit drops a report of these tests.
      'max_queued_messages 0',
      'max_inflight_messages 20',
      options.persistence
        ? // Sessions survive a kill -9: saved every second (saving on every change makes the broker crawl).
          `persistence true\npersistence_location ${dir}/\nautosave_interval 1`
        : 'persistence false',
      'log_dest none',
      '',
    ].join('\n'),
  );
  let child: ChildProcess | null = null;
  const mosquitto: PrivateMosquitto = {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    async start() {
      child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
      const deadline = Date.now() + 10_000;
      while (!(await listening(port))) {
        if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async kill(signal = 'SIGKILL') {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill(signal);
      await exited;
    },
    async close() {
      await mosquitto.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await mosquitto.start();
  return mosquitto;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
