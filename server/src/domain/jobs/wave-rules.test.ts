import { describe, expect, it } from 'vitest';
import { parseInput } from '../validation.js';
import {
  abortGauge,
  assignWaves,
  decideRollout,
  EMPTY_WAVE_COUNTS,
  nextWaveWaitsFor,
  type RolloutPlan,
  rolloutPlanInput,
  type WaveCounts,
  type WaveState,
} from './wave-rules.js';

const plan = (input: unknown, seed: number | null = null): RolloutPlan => ({ ...parseInput(rolloutPlanInput, input), seed });
const targets = (n: number, tags: (i: number) => Record<string, string> = () => ({})) =>
  Array.from({ length: n }, (_, i) => ({ deviceKey: `dev-${String(i).padStart(4, '0')}`, tags: tags(i) }));
const sizes = (assigned: Map<string, { wave: number }>, waves: number) => {
  const out = Array<number>(waves).fill(0);
  for (const a of assigned.values()) out[a.wave]++;
  return out;
};

describe('rollout plan input', () => {
  it('expands a preset into the canary 1 %, 10 %, 50 %, everyone plan', () => {
    const p = plan({ preset: 'CANARY_APPROVAL_10_50_100' });
    expect(p.waves.map((w) => [w.name, w.percent, w.approvalRequired])).toEqual([
      ['Canary', 1, true],
      ['10 %', 10, false],
      ['50 %', 50, false],
      ['Everyone', 100, false],
    ]);
  });
  it.each([
    [{}, 'waves: give either a preset or a list of waves'],
    [{ preset: 'CANARY_10_50_100', waves: [{}] }, 'waves: give either a preset or a list of waves'],
    [{ waves: [{ percent: 10, count: 5 }, {}] }, 'waves.0: give exactly one of percent, count or tags'],
    [{ waves: [{ percent: 50 }, { percent: 10 }, {}] }, "waves.1.percent: must be more than the earlier wave's 50 (shares are cumulative)"],
    [{ waves: [{ percent: 10 }, { count: 5 }] }, 'waves.1: the last wave takes every device the earlier waves did not'],
    [{ waves: [{ percent: 10 }, { approvalRequired: true }] }, 'waves.1.approvalRequired: the last wave has no next wave to approve'],
    [{ waves: [{ percent: 10, successThresholdPercent: 0 }, {}] }, 'waves.0.successThresholdPercent: must be 1 to 100'],
    [{ waves: [] }, 'waves: must list at least one wave'],
  ])('refuses %j', (input, message) => {
    expect(() => plan(input)).toThrow(message);
  });
});

describe('assignment of targets to waves', () => {
  it('takes cumulative shares, rounded up, in device-key order; the last wave takes the rest', () => {
    const a = assignWaves(targets(250), plan({ preset: 'CANARY_10_50_100' }));
    expect(sizes(a, 4)).toEqual([3, 22, 100, 125]);
    expect(a.get('dev-0000')).toEqual({ wave: 0, order: 0 });
    expect(a.get('dev-0003')?.wave).toBe(1);
  });
  it('puts every target in exactly one wave, whatever the plan', () => {
    const a = assignWaves(targets(97), plan({ waves: [{ count: 5 }, { percent: 3 }, { tags: [{ key: 'site', value: 'b' }] }, {}] }));
    expect(a.size).toBe(97);
    // A cumulative share already reached by an earlier count makes an empty wave.
    expect(sizes(a, 4)[1]).toBe(0);
  });
  it('takes a tags wave from the devices with those tags not in an earlier wave', () => {
    const a = assignWaves(
      targets(20, (i) => ({ site: i % 2 ? 'b' : 'a' })),
      plan({ waves: [{ count: 2 }, { tags: [{ key: 'site', value: 'b' }] }, {}] }),
    );
    expect(sizes(a, 3)).toEqual([2, 9, 9]);
    expect(a.get('dev-0001')?.wave).toBe(0);
  });
  it('pins the canary device keys to the first wave, counted in its share', () => {
    const a = assignWaves(targets(100), plan({ waves: [{ count: 3 }, {}], canaryDeviceKeys: ['dev-0077', 'dev-0050'] }));
    expect(
      [...a]
        .filter(([, v]) => v.wave === 0)
        .map(([k]) => k)
        .sort(),
    ).toEqual(['dev-0000', 'dev-0050', 'dev-0077']);
  });
  it('gives the same waves and order for the same seed, and another shuffle for another seed', () => {
    const p = { waves: [{ percent: 10 }, { percent: 50 }, {}] };
    const one = assignWaves(targets(500), plan(p, 42));
    const again = assignWaves([...targets(500)].reverse(), plan(p, 42));
    const other = assignWaves(targets(500), plan(p, 43));
    expect([...again].sort()).toEqual([...one].sort());
    const canary = (m: typeof one) =>
      [...m]
        .filter(([, v]) => v.wave === 0)
        .map(([k]) => k)
        .sort();
    expect(canary(other)).not.toEqual(canary(one));
    // Shuffled: the canary is not the first keys.
    expect(canary(one)).not.toEqual(targets(50).map((t) => t.deviceKey));
  });
});

const counts = (c: Partial<WaveCounts>): WaveCounts => ({ ...EMPTY_WAVE_COUNTS, ...c });
const wave = (index: number, s: Partial<WaveState> = {}): WaveState => ({
  index,
  name: `w${index}`,
  status: 'PENDING',
  successThresholdPercent: 90,
  errorThresholdPercent: 20,
  errorMinFinished: 5,
  soakMinutes: 0,
  approvalRequired: false,
  startedAt: null,
  thresholdReachedAt: null,
  counts: counts({ toBePushed: 10 }),
  ...s,
});
const NOW = new Date('2030-01-01T00:00:00Z');
const kinds = (decisions: { kind: string; wave: number }[]) => decisions.map((d) => `${d.kind}:${d.wave}`);

describe('what the rollout does next', () => {
  const running = { status: 'RUNNING', activeWave: 0 };
  it('waits while the active wave is below its success threshold', () => {
    expect(decideRollout(running, [wave(0, { status: 'RUNNING', counts: counts({ succeeded: 8, inProgress: 2 }) }), wave(1)], NOW, 1000)).toEqual([]);
  });
  it('starts the next wave at the success threshold', () => {
    const d = decideRollout(running, [wave(0, { status: 'RUNNING', counts: counts({ succeeded: 9, inProgress: 1 }) }), wave(1)], NOW, 1000);
    expect(kinds(d)).toEqual(['THRESHOLD_REACHED:0', 'WAVE_STARTED:1']);
  });
  it('soaks, then starts the next wave once the soak time passed', () => {
    const soaking = wave(0, { status: 'SOAKING', soakMinutes: 5, thresholdReachedAt: new Date(NOW.getTime() - 4000), counts: counts({ succeeded: 10 }) });
    expect(decideRollout(running, [soaking, wave(1)], NOW, 1000)).toEqual([]);
    expect(kinds(decideRollout(running, [{ ...soaking, thresholdReachedAt: new Date(NOW.getTime() - 5000) }, wave(1)], NOW, 1000))).toEqual([
      'SOAK_ENDED:0',
      'WAVE_STARTED:1',
    ]);
  });
  it('asks for an approval at a gate instead of starting the next wave', () => {
    const d = decideRollout(running, [wave(0, { status: 'RUNNING', approvalRequired: true, counts: counts({ succeeded: 10 }) }), wave(1)], NOW, 1000);
    expect(kinds(d)).toEqual(['THRESHOLD_REACHED:0', 'APPROVAL_REQUESTED:0']);
  });
  it('stops the job on the error threshold once enough devices finished, also while waiting for approval', () => {
    const failing = wave(0, { status: 'RUNNING', counts: counts({ succeeded: 3, failed: 2, inProgress: 5 }) });
    expect(kinds(decideRollout(running, [failing, wave(1)], NOW, 1000))).toEqual(['ERROR_THRESHOLD_CROSSED:0']);
    const tooFew = wave(0, { status: 'RUNNING', counts: counts({ succeeded: 2, failed: 2, inProgress: 6 }) });
    expect(decideRollout(running, [tooFew, wave(1)], NOW, 1000)).toEqual([]);
    const waiting = wave(0, { status: 'WAITING_FOR_APPROVAL', counts: counts({ succeeded: 8, failed: 3 }) });
    expect(kinds(decideRollout({ status: 'WAITING_FOR_APPROVAL', activeWave: 0 }, [waiting, wave(1)], NOW, 1000))).toEqual(['ERROR_THRESHOLD_CROSSED:0']);
  });
  it('leaves cancelled and not-found devices out of both thresholds', () => {
    const w = wave(0, { status: 'RUNNING', counts: counts({ succeeded: 9, excluded: 5, inProgress: 1 }) });
    expect(kinds(decideRollout(running, [w, wave(1)], NOW, 1000))).toEqual(['THRESHOLD_REACHED:0', 'WAVE_STARTED:1']);
  });
  it('stops the job when a wave ended below its success threshold; the last wave just ends', () => {
    const below = { status: 'RUNNING' as const, errorThresholdPercent: null, counts: counts({ succeeded: 8, failed: 2 }) };
    const d = decideRollout(running, [wave(0, below), wave(1)], NOW, 1000);
    expect(d).toEqual([expect.objectContaining({ kind: 'ENDED_BELOW_THRESHOLD', wave: 0, stopsJob: true })]);
    const last = decideRollout({ status: 'RUNNING', activeWave: 1 }, [wave(0, { status: 'PASSED' }), wave(1, below)], NOW, 1000);
    expect(last).toEqual([expect.objectContaining({ kind: 'ENDED_BELOW_THRESHOLD', wave: 1, stopsJob: false })]);
  });
  it('moves through empty waves at once and starts the first wave of a job that just started', () => {
    const d = decideRollout(running, [wave(0, { counts: counts({}) }), wave(1, { counts: counts({}) }), wave(2)], NOW, 1000);
    expect(kinds(d)).toEqual(['WAVE_STARTED:0', 'THRESHOLD_REACHED:0', 'WAVE_STARTED:1', 'THRESHOLD_REACHED:1', 'WAVE_STARTED:2']);
  });
  it('decides nothing for a stopped, scheduled or finished job, or a failed wave', () => {
    const ready = [wave(0, { status: 'RUNNING', counts: counts({ succeeded: 10 }) }), wave(1)];
    for (const status of ['STOPPED', 'SCHEDULED', 'FINISHED', 'CANCELLED']) expect(decideRollout({ status, activeWave: 0 }, ready, NOW, 1000)).toEqual([]);
    expect(decideRollout(running, [wave(0, { status: 'FAILED', counts: counts({ succeeded: 10 }) }), wave(1)], NOW, 1000)).toEqual([]);
  });
  it('says why the next wave is not starting', () => {
    const w = [wave(0, { status: 'RUNNING', counts: counts({ succeeded: 3, inProgress: 7 }) }), wave(1)];
    expect(nextWaveWaitsFor(running, w, NOW, 1000)).toBe('Wave 1 (w0): 3 of 10 devices succeeded (30%); the next wave starts at 90%.');
    expect(nextWaveWaitsFor({ status: 'STOPPED', activeWave: 0 }, w, NOW, 1000)).toMatch(/stopped/);
  });
});

describe('the abort gauge', () => {
  it('shows the failure share now and the worst case if every device in flight failed', () => {
    const g = abortGauge({
      errorThresholdPercent: 20,
      errorMinFinished: 5,
      counts: counts({ succeeded: 8, failed: 1, pushed: 2, inProgress: 1, toBePushed: 50 }),
    });
    expect(g).toMatchObject({ failedPercent: 11.1, worstCasePercent: 33.3, finished: 9, inFlight: 3, crossed: false, wouldCross: true });
  });
  it('is never crossed without a threshold', () => {
    expect(abortGauge({ errorThresholdPercent: null, errorMinFinished: 1, counts: counts({ failed: 10 }) })).toMatchObject({
      crossed: false,
      wouldCross: false,
    });
  });
});
