/**
 * Every failure reason of DESIGN §3, and success, produced end to end: real simulated devices over
 * real MQTT, real downloads, the engine's push-time checks, the timeout, cancel and delete.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteDevices } from '@updraft/server/domain/devices.js';
import { cancelUpgrade } from '@updraft/server/domain/jobs/cancel-upgrade.js';
import { inTransaction } from '@updraft/server/domain/transaction.js';
import { startFleet, type Behaviour, type Fleet } from '@updraft/server/simulator/index.js';
import type { TestServer } from '../support/server.js';
import {
  allFinal,
  brokerModes,
  countByStatus,
  jobStatus,
  mqttUrlOf,
  setUpFleet,
  startEngineServer,
  tasksOf,
  uniqueProductKey,
  upgradeJob,
  waitFor,
} from './support.js';

const BEHAVIOURS: Record<string, Behaviour> = {
  'ok-1': 'normal',
  'ok-2': 'normal',
  decline: 'decline',
  'write-fail': 'writeFail',
  'download-fail': 'downloadFail',
  corrupt: 'corrupt',
  'undefined-fail': 'undefinedFail',
  hang: 'hang',
  'old-version': 'normal',
  gone: 'offline',
  'cancel-me': 'offline',
};

describe.each(brokerModes())('failure reasons through the %s', (_name, overrides) => {
  let ts: TestServer;
  let fleet: Fleet | undefined;
  beforeAll(async () => {
    ts = await startEngineServer(overrides());
  });
  afterAll(async () => {
    await fleet?.stop();
    await ts?.close();
  });

  it('produces each of the ten reasons and success', { timeout: 180_000 }, async () => {
    const services = ts.server.services;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('reasons'), count: 0 });
    const registered = await setup.register(
      Object.keys(BEHAVIOURS).map((deviceKey) => ({ deviceKey, version: deviceKey === 'old-version' ? '0.9.0' : '1.0.0' })),
    );
    fleet = await startFleet({
      devices: registered.map((d) => ({ ...d, behaviour: BEHAVIOURS[d.deviceKey] })),
      mqttUrl: mqttUrlOf(ts),
      upgradeSeconds: 1,
      rebootSeconds: 0.2,
      progressReports: 4,
    });
    const { caller, productKey } = setup;
    // "ghost" does not exist at all; "gone" is deleted before the engine reaches it. The timeout is
    // generous here so that a busy machine cannot turn a slow success into a TIMEOUT.
    const job = await upgradeJob(services, setup, {
      scope: { deviceKeys: [...Object.keys(BEHAVIOURS).filter((k) => k !== 'hang'), 'ghost'], srcVersions: ['1.0.0'] },
      timeoutMinutes: 48 * 60,
    });
    await inTransaction(services, (scope) => deleteDevices(scope, caller, { productKey, deviceKeys: ['gone'] }));
    await inTransaction(services, (scope) => cancelUpgrade(scope, caller, { jobId: job.id, deviceKeys: ['cancel-me'] }));
    // The hanging device times out (5 minutes = 5 s on the test clock)…
    const hanging = await upgradeJob(services, setup, { name: 'hanging', scope: { deviceKeys: ['hang'] }, timeoutMinutes: 5 });
    await waitFor(async () => ['PUSHED', 'IN_PROGRESS'].includes((await tasksOf(services, hanging.id)).get('hang')?.status ?? ''), {
      what: 'the hanging device to be in flight',
    });
    // … and while it is upgrading in that job, another job cannot start on it.
    const second = await upgradeJob(services, setup, { name: 'second', scope: { deviceKeys: ['hang'] } });

    await waitFor(async () => allFinal(await countByStatus(services, job.id)), { what: 'job 1 final', describe: () => countByStatus(services, job.id) });
    await waitFor(async () => allFinal(await countByStatus(services, second.id)), { what: 'job 2 final' });
    await waitFor(async () => allFinal(await countByStatus(services, hanging.id)), { what: 'the hanging job final' });
    const tasks = await tasksOf(services, job.id);
    tasks.set('hang', (await tasksOf(services, hanging.id)).get('hang')!);
    const outcome = (key: string) => tasks.get(key)?.failure_reason ?? tasks.get(key)?.status;
    expect(Object.fromEntries([...tasks.keys()].map((k) => [k, outcome(k)]))).toEqual({
      'ok-1': 'SUCCEEDED',
      'ok-2': 'SUCCEEDED',
      decline: 'DEVICE_IGNORED',
      'write-fail': 'WRITE_FAILED',
      'download-fail': 'DOWNLOAD_FAILED',
      corrupt: 'VERIFICATION_FAILED',
      'undefined-fail': 'UNDEFINED',
      hang: 'TIMEOUT',
      'old-version': 'VERSION_NOT_IN_SCOPE',
      gone: 'DEVICE_NOT_FOUND',
      ghost: 'DEVICE_NOT_FOUND',
      'cancel-me': 'CANCELLED_BY_USER',
    });
    expect((await tasksOf(services, second.id)).get('hang')?.failure_reason).toBe('LAST_UPGRADE_IN_PROGRESS');
    // The device's own words are kept as the detail.
    expect(tasks.get('write-fail')?.failure_detail).toMatch(/flash write failed/);
    expect(tasks.get('decline')?.failure_detail).toMatch(/^Device replied 403/);
    expect(tasks.get('ok-1')?.current_version).toBe('2.0.0');
    expect(fleet.device('ok-1')?.version).toBe('2.0.0');
    await waitFor(async () => (await jobStatus(services, job.id)).status === 'FINISHED', { what: 'job 1 FINISHED' });
  });
});
