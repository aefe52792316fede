/** The fleet as a whole, against the real Mosquitto: behaviour mix outcomes, connect rate, lifecycle. */
import { afterEach, describe, expect, it } from 'vitest';
import { FAILURE_BEHAVIOURS } from './behaviour.js';
import { startFleet, type Fleet } from './fleet.js';
import { BROKER_URL, FakeCloud } from './test-support/fake-cloud.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function specs(productKey: string, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    productKey,
    deviceKey: `dev-${String(i).padStart(4, '0')}`,
    secret: `secret-${i}`,
    version: '1.0.0',
  }));
}

const track = (fleet: Fleet) => {
  cleanups.push(() => fleet.stop());
  return fleet;
};

describe('fleet', { timeout: 30_000 }, () => {
  it('turns a behaviour mix into exactly the expected outcomes', async () => {
    const cloud = await FakeCloud.start();
    cleanups.push(() => cloud.stop());
    const mix = 'offline=0.1,decline=0.05,downloadFail=0.05,corrupt=0.05,writeFail=0.05,undefinedFail=0.05,hang=0.05,slow=0.05';
    const fleet = track(
      await startFleet({
        mqttUrl: BROKER_URL,
        devices: specs(cloud.productKey, 200),
        behaviour: mix,
        seed: 99,
        upgradeSeconds: 0.3,
        rebootSeconds: 0.1,
        progressReports: 4,
        connectRate: 0,
      }),
    );
    const count = (behaviour: string) => fleet.devices.filter((d) => d.behaviour === behaviour).length;
    expect(count('offline')).toBe(20);
    for (const behaviour of [...FAILURE_BEHAVIOURS, 'slow']) expect(count(behaviour)).toBe(10);
    expect(count('normal')).toBe(110);
    expect(fleet.stats.connected).toBe(180);

    const file = cloud.addFirmware(16 * 1024);
    for (const device of fleet.devices) cloud.push(device.deviceKey, cloud.pushFor(file, 'job-mix', '2.0.0'));

    const { stats } = fleet;
    await cloud.waitFor(
      () =>
        stats.succeeded === 120 && // normal + slow
        stats.declined === 10 &&
        stats.downloadFailed === 10 &&
        stats.verificationFailed === 10 &&
        stats.writeFailed === 10 &&
        stats.undefinedFailed === 10 &&
        stats.hung === 10,
      20_000,
      'every outcome',
    );
    for (const device of fleet.devices) {
      const steps = cloud.steps(device.deviceKey);
      const last = steps.at(-1);
      const expectedLast: Record<string, string | undefined> = {
        normal: '100',
        slow: '100',
        downloadFail: '-2',
        corrupt: '-3',
        writeFail: '-4',
        undefinedFail: '-1',
        decline: undefined,
        offline: undefined,
      };
      if (device.behaviour === 'hang') expect(Number(last)).toBeGreaterThanOrEqual(0);
      else expect(last).toBe(expectedLast[device.behaviour]);
      // Steps never go backwards within one upgrade.
      const percents = steps.map(Number).filter((n) => n >= 0);
      expect(percents).toEqual([...percents].sort((a, b) => a - b));
    }
    expect(stats.pushesReceived).toBe(180);
    expect(stats.messagesSent).toBeGreaterThan(180 * 3);
    expect(stats.messagesReceived).toBeGreaterThanOrEqual(180);
  });

  it('assigns the same behaviours for the same seed', async () => {
    const cloud = await FakeCloud.start();
    cleanups.push(() => cloud.stop());
    const options = { mqttUrl: BROKER_URL, devices: specs(cloud.productKey, 50), behaviour: { hang: 0.2, slow: 0.2 }, seed: 5, connectRate: 0 };
    const first = await startFleet(options);
    const behaviours = first.devices.map((d) => d.behaviour);
    await first.stop();
    const second = track(await startFleet(options));
    expect(second.devices.map((d) => d.behaviour)).toEqual(behaviours);
    expect(second.device('dev-0003', cloud.productKey)?.deviceKey).toBe('dev-0003');
    expect(second.device('nope')).toBeUndefined();
  });

  it('connects at most connect-rate devices per second', async () => {
    const cloud = await FakeCloud.start();
    cleanups.push(() => cloud.stop());
    const started = Date.now();
    const fleet = track(await startFleet({ mqttUrl: BROKER_URL, devices: specs(cloud.productKey, 30), connectRate: 50 }));
    const elapsed = Date.now() - started;
    expect(fleet.stats.connected).toBe(30);
    expect(elapsed).toBeGreaterThanOrEqual(((30 - 5) / 50) * 1000); // a first burst of up to 5 (100 ms worth)
    await cloud.waitFor(() => cloud.received.filter((r) => r.message.kind === 'inform').length === 30, 5000, 'informs');
    const informs = cloud.received.filter((r) => r.message.kind === 'inform').map((r) => r.at);
    expect(informs.at(-1)! - informs[0]!).toBeGreaterThanOrEqual(((30 - 6) / 50) * 1000);
  });

  it('rejects bad options before connecting anything', async () => {
    await expect(startFleet({ mqttUrl: BROKER_URL, devices: specs('pk', 2), behaviour: 'explode=1' })).rejects.toThrow(/unknown behaviour/);
    await expect(startFleet({ mqttUrl: BROKER_URL, devices: [{ ...specs('pk', 1)[0]!, deviceKey: 'a/b' }] })).rejects.toThrow(/invalid fleet/);
    await expect(startFleet({ mqttUrl: BROKER_URL, devices: specs('pk', 1), upgradeSeconds: -1 })).rejects.toThrow(/upgradeSeconds/);
  });

  it('gives up waiting for connections after the timeout, and cleans up', async () => {
    await expect(startFleet({ mqttUrl: 'mqtt://127.0.0.1:1', devices: specs('pkx', 2), connectTimeoutMs: 500, connectRate: 0 })).rejects.toThrow(
      /only 0 of 2 devices connected/,
    );
  });

  it('can start without waiting, e.g. while the broker is still coming up', async () => {
    const fleet = track(await startFleet({ mqttUrl: 'mqtt://127.0.0.1:1', devices: specs('pky', 3), waitForConnect: false }));
    expect(fleet.stats.connected).toBe(0);
    await expect(fleet.whenConnected(200)).rejects.toThrow(/only 0 of 3/);
  });
});
