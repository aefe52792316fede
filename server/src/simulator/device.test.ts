/**
 * Virtual devices against the real Mosquitto (127.0.0.1:1883) and a fake cloud: every behaviour
 * through the real protocol, real downloads and real checksums.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_PAYLOAD_BYTES, REPLY_CODE } from '../devices/protocol.js';
import type { Behaviour } from './behaviour.js';
import { BUSY_REPLY_CODE, DECLINE_REPLY_CODE } from './device.js';
import { startFleet, type Fleet, type FleetOptions } from './fleet.js';
import { FakeCloud, BROKER_URL } from './test-support/fake-cloud.js';

const UPGRADE_SECONDS = 0.5;
const REPORTS = 5; // steps 0, 20, 40, 60, 80, 100
const ALL_STEPS = ['0', '20', '40', '60', '80', '100'];

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function setup(
  devices: { key: string; behaviour?: Behaviour; version?: string }[],
  options: Partial<FleetOptions> = {},
  beforeStart?: (cloud: FakeCloud) => void,
): Promise<{ cloud: FakeCloud; fleet: Fleet }> {
  const cloud = await FakeCloud.start();
  cleanups.push(() => cloud.stop());
  beforeStart?.(cloud);
  const fleet = await startFleet({
    mqttUrl: BROKER_URL,
    devices: devices.map((d) => ({
      productKey: cloud.productKey,
      deviceKey: d.key,
      secret: `secret-${d.key}`,
      version: d.version ?? '1.0.0',
      behaviour: d.behaviour,
    })),
    upgradeSeconds: UPGRADE_SECONDS,
    rebootSeconds: 0.1,
    progressReports: REPORTS,
    connectRate: 0,
    resumeDelayMs: 50,
    ...options,
  });
  cleanups.push(() => fleet.stop());
  return { cloud, fleet };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('virtual device', { timeout: 15_000 }, () => {
  it('connects with its credentials, informs its version and asks for pending upgrades', async () => {
    const { cloud, fleet } = await setup([{ key: 'd1', version: '1.2.3' }]);
    await cloud.waitFor(() => cloud.from('d1').some((m) => m.kind === 'getversion' && !m.isReply));
    const kinds = cloud.from('d1').map((m) => m.kind);
    expect(kinds.slice(0, 2)).toEqual(['inform', 'getversion']);
    expect(cloud.informs('d1')).toEqual(['1.2.3']);
    expect(fleet.device('d1')?.state).toBe('idle');
    expect(fleet.stats.connected).toBe(1);
  });

  it.each(['MD5', 'SHA256'] as const)(
    'upgrades with %s: accepts, reports 0..100 in order over the upgrade time, reconnects, informs the new version',
    async (signMethod) => {
      const { cloud, fleet } = await setup([{ key: 'ok' }]);
      const file = cloud.addFirmware(64 * 1024);
      const id = cloud.push('ok', cloud.pushFor(file, 'job-1', '2.0.0', signMethod));

      expect(await cloud.waitForReply('ok', id)).toEqual({ code: REPLY_CODE.OK, data: {} });
      await cloud.waitForInform('ok', '2.0.0');

      expect(cloud.steps('ok')).toEqual(ALL_STEPS);
      const reports = cloud.received.filter((r) => r.message.kind === 'progress' && !r.message.isReply);
      const spread = reports.at(-1)!.at - reports[0]!.at;
      expect(spread).toBeGreaterThanOrEqual(UPGRADE_SECONDS * 1000 * 0.8);
      // The new version is informed only after 100, on a new connection.
      const messages = cloud.from('ok');
      const last100 = messages.findIndex((m) => m.kind === 'progress' && !m.isReply && m.request.params.step === '100');
      const newInform = messages.findIndex((m) => m.kind === 'inform' && !m.isReply && m.request.params.version === '2.0.0');
      expect(newInform).toBeGreaterThan(last100);
      expect(cloud.informs('ok')).toEqual(['1.0.0', '2.0.0']);
      expect(cloud.httpRequests).toEqual([{ path: new URL(file.url).pathname, range: undefined }]);

      const device = fleet.device('ok')!;
      await cloud.waitFor(() => device.state === 'idle');
      expect(device.version).toBe('2.0.0');
      expect(fleet.stats).toMatchObject({ succeeded: 1, upgradesStarted: 1, connects: 2, connected: 1, bytesDownloaded: file.size });
    },
  );

  it('acts out each failure behaviour with its documented step', async () => {
    const { cloud, fleet } = await setup([
      { key: 'dl', behaviour: 'downloadFail' },
      { key: 'corrupt', behaviour: 'corrupt' },
      { key: 'write', behaviour: 'writeFail' },
      { key: 'undef', behaviour: 'undefinedFail' },
    ]);
    const file = cloud.addFirmware(32 * 1024);
    const ids = new Map(['dl', 'corrupt', 'write', 'undef'].map((key) => [key, cloud.push(key, cloud.pushFor(file, 'job-f', '2.0.0'))]));

    const expected = { dl: '-2', corrupt: '-3', write: '-4', undef: '-1' } as const;
    for (const [key, step] of Object.entries(expected)) {
      expect((await cloud.waitForReply(key, ids.get(key)!)).code).toBe(REPLY_CODE.OK);
      await cloud.waitForStep(key, step);
      const steps = cloud.steps(key);
      expect(steps.at(-1)).toBe(step);
      expect(steps).not.toContain('100');
      expect(steps[0]).toBe('0');
    }
    // A write failure comes after the download share; every failure carries a description.
    expect(cloud.steps('write').filter((s) => Number(s) > 50).length).toBeGreaterThan(0);
    for (const key of Object.keys(expected)) {
      expect(cloud.progressReports(key).at(-1)!.desc).toMatch(/./);
    }
    expect(cloud.progressReports('corrupt').at(-1)!.desc).toMatch(/MD5 .* does not match/);

    await sleep(300); // nothing follows a failure, and the device does not reboot
    for (const key of Object.keys(expected)) {
      expect(cloud.informs(key)).toEqual(['1.0.0']);
      expect(fleet.device(key)!.state).toBe('idle');
    }
    expect(fleet.stats).toMatchObject({ downloadFailed: 1, verificationFailed: 1, writeFailed: 1, undefinedFailed: 1, succeeded: 0 });
  });

  it('hangs: reports some progress, then nothing, and ignores further commands', async () => {
    const { cloud, fleet } = await setup([{ key: 'h', behaviour: 'hang' }]);
    const file = cloud.addFirmware(16 * 1024);
    cloud.push('h', cloud.pushFor(file, 'job-h', '2.0.0'));
    await cloud.waitForStep('h', '0');
    await cloud.waitFor(() => fleet.device('h')!.state === 'hung', 5000, 'hang');
    const stepsAtHang = cloud.steps('h');
    await sleep(UPGRADE_SECONDS * 1000 * 3);
    expect(cloud.steps('h')).toEqual(stepsAtHang);
    expect(stepsAtHang.every((step) => Number(step) >= 0 && Number(step) < 100)).toBe(true);

    const retry = cloud.push('h', cloud.pushFor(file, 'job-h', '2.0.0'));
    const cancel = cloud.cancel('h', 'job-h');
    await sleep(300);
    expect(cloud.replyTo('h', retry)).toBeUndefined();
    expect(cloud.replyTo('h', cancel)).toBeUndefined();
    expect(fleet.stats.hung).toBe(1);
  });

  it('declines a push with a non-200 reply and does nothing else', async () => {
    const { cloud, fleet } = await setup([{ key: 'no', behaviour: 'decline' }]);
    const file = cloud.addFirmware(1024);
    const id = cloud.push('no', cloud.pushFor(file, 'job-d', '2.0.0'));
    const reply = await cloud.waitForReply('no', id);
    expect(reply.code).toBe(DECLINE_REPLY_CODE);
    expect(reply.code).not.toBe(REPLY_CODE.OK);
    await sleep(200);
    expect(cloud.steps('no')).toEqual([]);
    expect(cloud.httpRequests).toEqual([]);
    expect(fleet.stats.declined).toBe(1);
  });

  it('a slow device takes 5–10 times the upgrade time', async () => {
    const { cloud } = await setup([{ key: 'slow', behaviour: 'slow' }], { upgradeSeconds: 0.2 });
    const file = cloud.addFirmware(1024);
    cloud.push('slow', cloud.pushFor(file, 'job-s', '2.0.0'));
    await cloud.waitForStep('slow', '0');
    const started = Date.now();
    await cloud.waitForInform('slow', '2.0.0', 5000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(0.2 * 5 * 1000 * 0.9);
    expect(cloud.steps('slow')).toEqual(ALL_STEPS);
  });

  it('an offline device never connects, or connects after the configured delay', async () => {
    const never = await setup([{ key: 'on' }, { key: 'off', behaviour: 'offline' }]);
    await sleep(500);
    expect(never.cloud.from('off')).toEqual([]);
    expect(never.cloud.informs('on')).toEqual(['1.0.0']);
    expect(never.fleet.device('off')!.state).toBe('offline');

    const later = await setup([{ key: 'late', behaviour: 'offline' }], { offlineDelaySeconds: 0.5 });
    const started = Date.now();
    expect(later.cloud.from('late')).toEqual([]);
    await later.cloud.waitForInform('late', '1.0.0', 5000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });

  it('stops on a cancel for its job, goes back to idle and takes the next push', async () => {
    const { cloud, fleet } = await setup([{ key: 'c' }], { upgradeSeconds: 2 });
    const file = cloud.addFirmware(16 * 1024);
    cloud.push('c', cloud.pushFor(file, 'job-1', '2.0.0'));
    await cloud.waitForStep('c', '0');
    const otherCancel = cloud.cancel('c', 'some-other-job');
    expect((await cloud.waitForReply('c', otherCancel)).code).toBe(REPLY_CODE.OK);
    expect(fleet.device('c')!.upgradingJobId).toBe('job-1');

    const cancel = cloud.cancel('c', 'job-1');
    expect((await cloud.waitForReply('c', cancel)).code).toBe(REPLY_CODE.OK);
    const stepsAtCancel = cloud.steps('c');
    expect(fleet.device('c')!.state).toBe('idle');
    await sleep(700); // past the next scheduled reports
    expect(cloud.steps('c')).toEqual(stepsAtCancel);
    expect(stepsAtCancel).not.toContain('100');

    const next = cloud.push('c', cloud.pushFor(file, 'job-2', '3.0.0'));
    expect((await cloud.waitForReply('c', next)).code).toBe(REPLY_CODE.OK);
    await cloud.waitForInform('c', '3.0.0', 6000);
    expect(fleet.stats.cancelled).toBe(1);
  });

  it('resumes a dropped download with a Range request', async () => {
    const { cloud, fleet } = await setup([{ key: 'r' }]);
    const file = cloud.addFirmware(256 * 1024, 'dropHalfOnce');
    cloud.push('r', cloud.pushFor(file, 'job-r', '2.0.0', 'SHA256'));
    await cloud.waitForInform('r', '2.0.0');
    expect(cloud.steps('r')).toEqual(ALL_STEPS);
    const [first, second] = cloud.httpRequests;
    expect(cloud.httpRequests).toHaveLength(2);
    expect(first!.range).toBeUndefined();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(second!.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThan(file.size);
    expect(fleet.stats.downloadResumes).toBe(1);
    expect(fleet.stats.bytesDownloaded).toBe(file.size);
  });

  it('starts over from zero when a resume is answered with the whole file', async () => {
    const { cloud, fleet } = await setup([{ key: 'z' }]);
    const file = cloud.addFirmware(128 * 1024, 'dropHalfOnceIgnoreRange');
    cloud.push('z', cloud.pushFor(file, 'job-z', '2.0.0'));
    await cloud.waitForInform('z', '2.0.0');
    expect(cloud.httpRequests).toHaveLength(2);
    expect(cloud.httpRequests[1]!.range).toMatch(/^bytes=\d+-$/);
    expect(fleet.stats.verificationFailed).toBe(0);
  });

  it('reports -2 when resuming never completes', async () => {
    const { cloud, fleet } = await setup([{ key: 'broken' }], { maxResumes: 2 });
    const broken = cloud.addFirmware(128 * 1024, 'dropHalfAlways');
    cloud.push('broken', cloud.pushFor(broken, 'job-b', '2.0.0'));
    await cloud.waitForStep('broken', '-2');
    expect(cloud.progressReports('broken').at(-1)!.desc).toMatch(/connection/);
    expect(cloud.httpRequests).toHaveLength(3); // the first request and 2 resumes
    expect(fleet.stats).toMatchObject({ downloadFailed: 1, downloadResumes: 2 });
  });

  it('checks size and checksum for real: wrong sign and wrong size give -3, a missing file -2', async () => {
    const { cloud } = await setup([{ key: 'sign' }, { key: 'size' }, { key: 'gone' }, { key: 'big' }]);
    const file = cloud.addFirmware(8 * 1024);
    cloud.push('sign', { ...cloud.pushFor(file, 'j', '2.0.0'), sign: '0'.repeat(32) });
    cloud.push('size', { ...cloud.pushFor(file, 'j', '2.0.0'), fileSize: file.size + 10 });
    cloud.push('big', { ...cloud.pushFor(file, 'j', '2.0.0'), fileSize: file.size - 10 });
    const missing = cloud.addFirmware(100, 'notFound');
    cloud.push('gone', cloud.pushFor(missing, 'j', '2.0.0'));

    await cloud.waitForStep('sign', '-3');
    await cloud.waitForStep('size', '-3');
    await cloud.waitForStep('big', '-3');
    await cloud.waitForStep('gone', '-2');
    expect(cloud.progressReports('size').at(-1)!.desc).toMatch(/size/);
    expect(cloud.progressReports('big').at(-1)!.desc).toMatch(/more than/);
    expect(cloud.progressReports('gone').at(-1)!.desc).toMatch(/HTTP 404/);
  });

  it('answers malformed pushes with 400 where it can read an id, and keeps working', async () => {
    const { cloud, fleet } = await setup([{ key: 'm' }]);
    const file = cloud.addFirmware(4 * 1024);
    const good = cloud.pushFor(file, 'job-m', '2.0.0');
    cloud.publishRaw('m', 'upgrade', '{"id":"bad-json","version":"1.0","method":"ota.device.upg');
    cloud.publishRaw('m', 'upgrade', 'complete garbage');
    cloud.publishRaw('m', 'upgrade', JSON.stringify({ id: 'no-url', version: '1.0', method: 'ota.device.upgrade', params: { ...good, fileUrl: undefined } }));
    cloud.publishRaw('m', 'upgrade', JSON.stringify({ id: 'bad-sign', version: '1.0', method: 'ota.device.upgrade', params: { ...good, sign: 'xyz' } }));
    cloud.publishRaw('m', 'upgrade', JSON.stringify({ id: 'wrong-method', version: '1.0', method: 'ota.device.cancel', params: { jobId: 'x' } }));
    cloud.publishRaw('m', 'cancel', JSON.stringify({ id: 'no-job', version: '1.0', method: 'ota.device.cancel', params: {} }));
    cloud.publishRaw(
      'm',
      'upgrade',
      JSON.stringify({ id: 'huge', version: '1.0', method: 'ota.device.upgrade', params: { ...good, pad: 'x'.repeat(MAX_PAYLOAD_BYTES) } }),
    );
    cloud.publishRaw('m', 'upgrade', JSON.stringify([1, 2, 3]));

    for (const id of ['bad-json', 'no-url', 'bad-sign', 'wrong-method', 'no-job', 'huge']) {
      const reply = await cloud.waitForReply('m', id);
      expect(reply.code).toBe(REPLY_CODE.BAD_REQUEST);
      expect((reply.data as { message: string }).message).toMatch(/./);
    }
    expect(fleet.stats.malformedReceived).toBe(8);
    expect(fleet.stats.badRequestReplies).toBe(6);
    expect(fleet.device('m')!.state).toBe('idle');

    const id = cloud.push('m', good);
    expect((await cloud.waitForReply('m', id)).code).toBe(REPLY_CODE.OK);
    await cloud.waitForInform('m', '2.0.0');
  });

  it('acts on a pending push returned by getversion on connect', async () => {
    let url = '';
    const { cloud, fleet } = await setup([{ key: 'gv' }, { key: 'gv-decline', behaviour: 'decline' }], {}, (c) => {
      const file = c.addFirmware(8 * 1024);
      url = file.url;
      c.pending.set('gv', [c.pushFor(file, 'job-gv', '2.0.0')]);
      c.pending.set('gv-decline', [c.pushFor(file, 'job-gv', '2.0.0')]);
    });
    await cloud.waitForInform('gv', '2.0.0');
    expect(cloud.steps('gv')).toEqual(ALL_STEPS);
    expect(url).not.toBe('');
    // The reconnect asks again; the pending push now names the version it runs, which it just informs.
    expect(fleet.stats.pushesFromGetVersion).toBeGreaterThanOrEqual(2);
    expect(fleet.stats.upgradesStarted).toBe(1);
    // A declining device has no request to answer: it ignores the pending push.
    expect(cloud.steps('gv-decline')).toEqual([]);
  });

  it('refuses a second job while upgrading, and accepts a duplicate of the current one', async () => {
    const { cloud, fleet } = await setup([{ key: 'b' }], { upgradeSeconds: 1 });
    const file = cloud.addFirmware(4 * 1024);
    cloud.push('b', cloud.pushFor(file, 'job-a', '2.0.0'));
    await cloud.waitForStep('b', '0');
    const other = cloud.push('b', cloud.pushFor(file, 'job-b', '3.0.0'));
    const duplicate = cloud.push('b', cloud.pushFor(file, 'job-a', '2.0.0'));
    expect((await cloud.waitForReply('b', other)).code).toBe(BUSY_REPLY_CODE);
    expect((await cloud.waitForReply('b', duplicate)).code).toBe(REPLY_CODE.OK);
    await cloud.waitForInform('b', '2.0.0');
    expect(cloud.steps('b')).toEqual(ALL_STEPS); // the duplicate did not restart anything
    expect(fleet.stats.busyRejected).toBe(1);
  });

  it('has the broker publish its presence will when the connection drops, then reconnects and informs', async () => {
    const { cloud, fleet } = await setup([{ key: 'w' }]);
    fleet.device('w')!.dropConnection();
    await cloud.waitFor(() => cloud.from('w').some((m) => m.kind === 'presence'), 5000, 'presence will');
    const presence = cloud.from('w').find((m) => m.kind === 'presence');
    expect(presence).toMatchObject({ kind: 'presence', presence: { online: false } });
    await cloud.waitFor(() => cloud.informs('w').length === 2, 6000, 'second inform');
    expect(fleet.stats.connects).toBe(2);
  });

  it('applies a failure behaviour only to the first failAttempts attempts', async () => {
    const { cloud } = await setup([{ key: 'once', behaviour: 'writeFail' }], { failAttempts: 1 });
    const file = cloud.addFirmware(4 * 1024);
    cloud.push('once', cloud.pushFor(file, 'job-1', '2.0.0'));
    await cloud.waitForStep('once', '-4');
    cloud.push('once', cloud.pushFor(file, 'job-1', '2.0.0'));
    await cloud.waitForInform('once', '2.0.0');
  });

  it('keeps upgrading when progress replies say 764/765, and counts them', async () => {
    const { cloud, fleet } = await setup([{ key: 'p' }], {}, (c) => {
      c.progressReplyCode = REPLY_CODE.NO_TASK;
    });
    const file = cloud.addFirmware(4 * 1024);
    cloud.push('p', cloud.pushFor(file, 'job-p', '2.0.0'));
    await cloud.waitForInform('p', '2.0.0');
    await cloud.waitFor(() => fleet.stats.progressRejected === ALL_STEPS.length, 2000, 'progress replies');
  });

  it('accepts a push for the version it already runs by informing it, without downloading', async () => {
    const { cloud } = await setup([{ key: 'same', version: '2.0.0' }]);
    const file = cloud.addFirmware(4 * 1024);
    const id = cloud.push('same', cloud.pushFor(file, 'job-same', '2.0.0'));
    expect((await cloud.waitForReply('same', id)).code).toBe(REPLY_CODE.OK);
    await cloud.waitFor(() => cloud.informs('same').length === 2);
    expect(cloud.steps('same')).toEqual([]);
    expect(cloud.httpRequests).toEqual([]);
  });

  it('stop() powers every device off (the broker publishes their wills) and leaves nothing running', async () => {
    const { cloud, fleet } = await setup([{ key: 's1' }, { key: 's2' }], { upgradeSeconds: 5 });
    const file = cloud.addFirmware(4 * 1024);
    cloud.push('s1', cloud.pushFor(file, 'job', '2.0.0'));
    await cloud.waitForStep('s1', '0');
    await fleet.stop();
    expect(fleet.stats.connected).toBe(0);
    expect(fleet.devices.every((d) => d.state === 'stopped')).toBe(true);
    await cloud.waitFor(() => cloud.received.filter((r) => r.message.kind === 'presence').length === 2, 5000, 'wills');
    const count = cloud.received.length;
    await sleep(UPGRADE_SECONDS * 1000 * 0.3);
    expect(cloud.received.length).toBe(count);
    expect(cloud.steps('s1')).toEqual(['0']);
  });
});
