/**
 * Phased rollouts through the API (issue 16): a plan on createUpgradeJob, previewUpgradeJob with
 * the same input, OtaJob.waves and rollout, the wave filter, approveNextWave's refusals and
 * permission, and bad plans refused with typed errors that change nothing. No engine: the waves do
 * not move here (tests/engine/waves.test.ts moves them with devices).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpgradeJob, rawId, seedProduct, setTaskStates, uploadFirmware } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
let firmwareId: string;

beforeAll(async () => {
  t = await startTestServer({ engineEnabled: false });
  await seedProduct(t, 'lamp', 200, (i) => ({ firmwareVersion: '1.0', tags: [{ key: 'site', value: i < 20 ? 'lab' : 'field' }] }));
  firmwareId = (await uploadFirmware(t, { productKey: 'lamp', name: 'Two', version: '2.0' })).id;
});
afterAll(() => t?.close());

const WAVES = `waves { index name status active deviceCount selectPercent selectCount selectTags successThresholdPercent
  errorThreshold { percent minFinished } approvalRequired statusCounts { toBePushed failed } successPercent
  abortGauge { failedPercent worstCasePercent thresholdPercent finished inFlight crossed wouldCross } nextWaveWaitsFor }`;

async function jobWaves(id: string) {
  const result = await t.gql(
    `query($id: ID!) { job(id: $id) { status rollout { seed randomOrder canaryDeviceKeys activeWave nextWaveWaitsFor decisions { kind actor reason } } ${WAVES} } }`,
    {
      id,
    },
  );
  expect(result.errors).toBeUndefined();
  return result.data.job;
}

const plan = {
  waves: [
    { name: 'Lab', tags: [{ key: 'site', value: 'lab' }], errorThreshold: { percent: 20, minFinished: 3 }, approvalRequired: true },
    { percent: 50, successThresholdPercent: 90 },
    {},
  ],
  seed: 7,
  canaryDeviceKeys: ['dev-0150'],
};

describe('a rollout plan through the API', () => {
  it('previews exactly the waves createUpgradeJob then creates, and creates nothing itself', async () => {
    const input = { name: 'Waves', firmwareId, scope: { allDevices: true }, rollout: plan };
    const preview = await t.gql(
      `query($input: CreateUpgradeJobInput!) { previewUpgradeJob(input: $input, sampleSize: 5) { __typename
         ... on QueryPreviewUpgradeJobSuccess { data { deviceCount notFoundCount seed sampleDeviceKeys waves { index name deviceCount sampleDeviceKeys } } } } }`,
      { input },
    );
    const p = preview.data.previewUpgradeJob.data;
    expect(p).toMatchObject({ deviceCount: 200, notFoundCount: 0, seed: 7 });
    expect(p.waves.map((w: { deviceCount: number }) => w.deviceCount)).toEqual([21, 79, 100]);
    expect(p.waves[0].sampleDeviceKeys[0]).toBe('dev-0150');
    const before = await t.gql('{ jobs { totalCount } }');
    expect(before.data.jobs.totalCount).toBe(0);

    const id = await createUpgradeJob(t, input);
    const job = await jobWaves(id);
    expect(job.rollout).toMatchObject({ seed: 7, randomOrder: true, canaryDeviceKeys: ['dev-0150'], activeWave: 0 });
    expect(job.waves.map((w: { deviceCount: number }) => w.deviceCount)).toEqual(p.waves.map((w: { deviceCount: number }) => w.deviceCount));
    expect(job.waves[0]).toMatchObject({
      name: 'Lab',
      status: 'RUNNING',
      active: true,
      selectTags: ['site=lab'],
      errorThreshold: { percent: 20, minFinished: 3 },
      approvalRequired: true,
      statusCounts: { toBePushed: 21, failed: 0 },
    });
    expect(job.waves[1]).toMatchObject({ status: 'PENDING', selectPercent: 50, successThresholdPercent: 90, active: false, nextWaveWaitsFor: null });
    expect(job.waves[0].nextWaveWaitsFor).toBe('Wave 1 (Lab): 0 of 21 devices succeeded (0%); the next wave starts at 95%.');
    expect(job.rollout.decisions.map((d: { kind: string }) => d.kind)).toEqual(['PLAN_CREATED', 'WAVE_STARTED']);

    // The wave filter, by tab too; and each device names its wave.
    const devices = await t.gql(
      `query($id: ID!) { job(id: $id) { devices(wave: 0, first: 3) { totalCount nodes { deviceKey wave waitingReason } }
         later: devices(wave: 2, status: TO_BE_PUSHED, first: 1) { totalCount nodes { wave } } } }`,
      { id },
    );
    expect(devices.data.job.devices.totalCount).toBe(21);
    expect(devices.data.job.devices.nodes.every((n: { wave: number }) => n.wave === 0)).toBe(true);
    expect(devices.data.job.later).toEqual({ totalCount: 100, nodes: [{ wave: 2 }] });
  });

  it('shows the abort gauge of the active wave: now, and if every device in flight failed', async () => {
    const id = await createUpgradeJob(t, { name: 'Gauge', firmwareId, scope: { allDevices: true }, rollout: { ...plan, seed: 8 } });
    const devices = await t.gql(`query($id: ID!) { job(id: $id) { devices(wave: 0, first: 6) { nodes { deviceKey } } } }`, { id });
    const [a, b, c, d, e] = devices.data.job.devices.nodes.map((n: { deviceKey: string }) => n.deviceKey);
    await setTaskStates(t, id, {
      [a]: { status: 'SUCCEEDED' },
      [b]: { status: 'SUCCEEDED' },
      [c]: { status: 'FAILED', reason: 'WRITE_FAILED' },
      [d]: { status: 'IN_PROGRESS' },
      [e]: { status: 'PUSHED' },
    });
    const job = await jobWaves(id);
    expect(job.waves[0].abortGauge).toEqual({
      failedPercent: 33.3,
      worstCasePercent: 60,
      thresholdPercent: 20,
      finished: 3,
      inFlight: 2,
      crossed: true,
      wouldCross: true,
    });
  });

  it('refuses approveNextWave while the wave is not waiting, and without OTA_CONTROL', async () => {
    const id = await createUpgradeJob(t, { name: 'Approve', firmwareId, scope: { allDevices: true }, rollout: { preset: 'CANARY_APPROVAL_10_50_100' } });
    const approve = `mutation($id: ID!, $wave: Int) { approveNextWave(jobId: $id, wave: $wave) { __typename ... on Error { message } } }`;
    const early = await t.gql(approve, { id, wave: 1 });
    expect(early.data.approveNextWave).toEqual({
      __typename: 'InvalidJobStateError',
      message: 'Cannot approve the next wave of a job that is RUNNING (wave 1 is RUNNING)',
    });
    const viewer = await t.createUser({ permissions: ['OTA_READ'] });
    const denied = await viewer.gql(approve, { id });
    expect(denied.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const noPlan = await createUpgradeJob(t, { name: 'One wave', firmwareId, scope: { allDevices: true } });
    expect((await t.gql(approve, { id: noPlan })).data.approveNextWave.__typename).toBe('InvalidJobStateError');
    const single = await jobWaves(noPlan);
    expect(single).toMatchObject({ rollout: null, waves: [] });
  });

  it('refuses a bad plan with a typed error naming the field, and creates nothing', async () => {
    const { data } = await t.gql('{ jobs { totalCount } }');
    const bad = async (rollout: unknown) => {
      const result = await t.gql(
        `mutation($input: CreateUpgradeJobInput!) { createUpgradeJob(input: $input) { __typename ... on InvalidInputError { message } } }`,
        { input: { name: 'Bad', firmwareId, scope: { allDevices: true }, rollout } },
      );
      return result.data.createUpgradeJob;
    };
    expect(await bad({ waves: [{ percent: 10 }, { count: 3 }] })).toMatchObject({
      __typename: 'InvalidInputError',
      message: expect.stringContaining('input.rollout.waves.1: the last wave takes every device'),
    });
    expect(await bad({ waves: [{ percent: 10 }, {}], canaryDeviceKeys: ['nope-1'] })).toMatchObject({
      __typename: 'InvalidInputError',
      message: "input.rollout.canaryDeviceKeys: are not among the job's targets: nope-1",
    });
    expect(await bad({ preset: 'CANARY_10_50_100', waves: [{}] })).toMatchObject({ __typename: 'InvalidInputError' });
    expect((await t.gql('{ jobs { totalCount } }')).data.jobs.totalCount).toBe(data.jobs.totalCount);
  });
});

// A device's wave is part of its JobDevice node (read by id too).
it('reads a device wave through node(id)', async () => {
  const id = await createUpgradeJob(t, { name: 'Node', firmwareId, scope: { deviceKeys: ['dev-0001', 'dev-0002'] }, rollout: { waves: [{ count: 1 }, {}] } });
  const page = await t.gql(`query($id: ID!) { job(id: $id) { devices { nodes { id deviceKey wave } } } }`, { id });
  const nodes = page.data.job.devices.nodes;
  expect(nodes.map((n: { wave: number }) => n.wave)).toEqual([0, 1]);
  const node = await t.gql(`query($id: ID!) { node(id: $id) { ... on JobDevice { wave } } }`, { id: nodes[1].id });
  expect(node.data.node.wave).toBe(1);
  expect(rawId(id)).toMatch(/-/);
});
