/** The CLI as a user runs it: a fleet file, the real broker, signals. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BROKER_URL, FakeCloud } from './test-support/fake-cloud.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  while (cleanups.length > 0) await cleanups.pop()!();
});

function runCli(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitForOutput = async (pattern: RegExp, timeoutMs = 15_000) => {
    const started = Date.now();
    while (!pattern.test(output)) {
      if (Date.now() - started > timeoutMs) throw new Error(`no ${pattern} in output:\n${output}`);
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before ${pattern}:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  return { child, exited, waitForOutput, output: () => output };
}

async function fleetFile(devices: unknown): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sim-cli-'));
  const file = path.join(dir, 'fleet.json');
  await writeFile(file, JSON.stringify(devices));
  return file;
}

describe('simulator CLI', { timeout: 30_000 }, () => {
  it('runs a fleet file against the broker, upgrades a device, and stops cleanly on SIGTERM', async () => {
    const cloud = await FakeCloud.start();
    cleanups.push(() => cloud.stop());
    const devices = ['a', 'b', 'c'].map((key) => ({ productKey: cloud.productKey, deviceKey: key, secret: `s-${key}`, version: '1.0' }));
    const cli = runCli([
      '--fleet',
      await fleetFile(devices),
      '--mqtt',
      BROKER_URL,
      '--behaviour',
      'offline=0.34',
      '--seed',
      '3',
      '--upgrade-seconds',
      '0.5',
      '--reboot-seconds',
      '0.1',
      '--stats-interval',
      '0',
    ]);
    await cli.waitForOutput(/every online device connected/);
    expect(cli.output()).toMatch(/3 devices on mqtt:\/\//);
    expect(cli.output()).toMatch(/normal=2/);
    expect(cli.output()).toMatch(/offline=1/);
    await cloud.waitFor(() => cloud.received.filter((r) => r.message.kind === 'inform').length === 2);

    const online = devices.find((d) => cloud.informs(d.deviceKey).length > 0)!;
    const file = cloud.addFirmware(8 * 1024);
    cloud.push(online.deviceKey, cloud.pushFor(file, 'job-cli', '2.0'));
    await cloud.waitForInform(online.deviceKey, '2.0', 10_000);

    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(cli.output()).toMatch(/final: .*succeeded=1/);
  });

  it('prints usage and fails on a missing or broken fleet file', async () => {
    const missing = runCli(['--mqtt', BROKER_URL]);
    expect(await missing.exited).toBe(1);
    expect(missing.output()).toMatch(/--fleet is required[\s\S]*Usage:/);

    const broken = runCli(['--fleet', await fleetFile([{ productKey: 'p', deviceKey: 'd' }])]);
    expect(await broken.exited).toBe(1);
    expect(broken.output()).toMatch(/invalid fleet/);

    const badMix = runCli(['--fleet', await fleetFile([]), '--behaviour', 'offline=2']);
    expect(await badMix.exited).toBe(1);
    expect(badMix.output()).toMatch(/between 0 and 1/);

    const help = runCli(['--help']);
    expect(await help.exited).toBe(0);
    expect(help.output()).toMatch(/Usage:/);
  });
});
