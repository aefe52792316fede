/**
 * The phased rollout of a job as a stepper (issue 16): one step per wave with its live counts and
 * progress, the active wave's abort gauge (failure share now and if every device in flight failed,
 * against its error threshold), why the next wave is not starting, "Approve next wave" for those
 * with OTA_CONTROL, and a wave filter for the five tabs. Live through jobProgress (JobWaveFields).
 */
import { createSignal, For, Show } from 'solid-js';
import { client } from '../../api/client';
import type { ResultOf } from '../../api/graphql';
import { outcomeOf } from '../../api/outcome';
import { formatCount } from '../../format';
import { ApproveNextWaveMutation, type JobWaveFields } from './documents';

type WaveData = ResultOf<typeof JobWaveFields>;
type Wave = WaveData['waves'][number];

const STEP_STATUS: Record<string, string> = {
  PENDING: 'Not started',
  RUNNING: 'Running',
  SOAKING: 'Soaking',
  WAITING_FOR_APPROVAL: 'Waiting for approval',
  PASSED: 'Passed',
  FAILED: 'Failed',
};

export function WaveStepper(props: {
  data: WaveData;
  jobStatus: string;
  canControl: boolean;
  selectedWave: number | undefined;
  onSelectWave: (wave: number | undefined) => void;
  onApproved: (text: string, ok: boolean) => void;
  format: (iso: string | null | undefined) => string;
}) {
  const [busy, setBusy] = createSignal(false);
  const active = () => props.data.waves.find((w) => w.active) ?? null;
  const waiting = () => props.jobStatus === 'WAITING_FOR_APPROVAL' && active()?.status === 'WAITING_FOR_APPROVAL';
  const next = () => props.data.waves.find((w) => w.index === (active()?.index ?? -2) + 1) ?? null;
  const approve = async () => {
    const wave = next();
    if (!wave) return;
    setBusy(true);
    const result = await client.mutation(ApproveNextWaveMutation, { id: props.data.id, wave: wave.index }).toPromise();
    setBusy(false);
    const outcome = outcomeOf(result.error, result.data?.approveNextWave);
    props.onApproved(outcome.ok ? `${wave.name} started.` : outcome.problem.message, outcome.ok);
  };
  return (
    <div class="card waves" data-testid="wave-stepper">
      <div class="waves-header">
        <h2 class="card-title">Rollout waves</h2>
        <span class="muted">{props.data.rollout?.randomOrder ? `Random order, seed ${props.data.rollout.seed}` : 'Device-key order'}</span>
        <Show when={waiting()}>
          <button
            type="button"
            class="btn btn-primary"
            data-testid="approve-next-wave"
            disabled={!props.canControl || busy()}
            title={props.canControl ? undefined : 'Needs OTA_CONTROL'}
            onClick={() => void approve()}
          >
            Approve next wave{next() ? `: ${next()!.name}` : ''}
          </button>
        </Show>
      </div>
      <Show when={props.data.rollout?.nextWaveWaitsFor}>
        <p class="waves-why" data-testid="next-wave-waits-for">
          {props.data.rollout!.nextWaveWaitsFor}
        </p>
      </Show>
      <ol class="wave-steps">
        <For each={props.data.waves}>
          {(w) => (
            <li
              class={`wave-step wave-${w.status.toLowerCase()}`}
              classList={{ 'wave-active': w.active, 'wave-selected': props.selectedWave === w.index }}
              data-testid={`wave-${w.index}`}
              data-status={w.status}
            >
              <button
                type="button"
                class="wave-step-button"
                aria-pressed={props.selectedWave === w.index}
                title="Show this wave's devices in the tabs below"
                onClick={() => props.onSelectWave(props.selectedWave === w.index ? undefined : w.index)}
              >
                <span class="wave-index">{w.index + 1}</span>
                <span class="wave-name">{w.name}</span>
                <span class="wave-status">{STEP_STATUS[w.status] ?? w.status}</span>
              </button>
              <div class="wave-bar" role="img" aria-label={`${w.name}: ${w.successPercent}% succeeded, ${w.progress}% finished`}>
                <span class="wave-bar-ok" style={{ width: `${pct(w.statusCounts.succeeded, w.deviceCount)}%` }} />
                <span class="wave-bar-failed" style={{ width: `${pct(w.statusCounts.failed, w.deviceCount)}%` }} />
                <span
                  class="wave-bar-threshold"
                  style={{ left: `${w.successThresholdPercent}%` }}
                  title={`Next wave at ${w.successThresholdPercent}% succeeded`}
                />
              </div>
              <div class="wave-counts" data-testid={`wave-${w.index}-counts`}>
                {formatCount(w.statusCounts.succeeded)} ok · {formatCount(w.statusCounts.failed)} failed ·{' '}
                {formatCount(w.statusCounts.pushed + w.statusCounts.inProgress)} in flight · {formatCount(w.statusCounts.toBePushed)} waiting{' '}
                <span class="muted">of {formatCount(w.deviceCount)}</span>
              </div>
              <div class="wave-rules muted">
                next at {w.successThresholdPercent}%{w.errorThreshold ? ` · stops above ${w.errorThreshold.percent}% failed` : ''}
                {w.soakMinutes ? ` · soak ${w.soakMinutes} min` : ''}
                {w.approvalRequired ? ' · approval' : ''}
              </div>
              <Show when={w.active && w.errorThreshold}>
                <Gauge wave={w} />
              </Show>
              <Show when={w.approvedBy}>
                <div class="muted">Approved by {w.approvedBy}</div>
              </Show>
              <Show when={w.startedAt}>
                <div class="muted">Started {props.format(w.startedAt)}</div>
              </Show>
            </li>
          )}
        </For>
      </ol>
      <Show when={props.data.rollout?.decisions.length}>
        <details class="wave-decisions">
          <summary>Rollout decisions ({props.data.rollout!.decisions.length})</summary>
          <ol>
            <For each={[...props.data.rollout!.decisions].reverse()}>
              {(d) => (
                <li>
                  <span class="muted">{props.format(d.decidedAt)}</span> · <strong>{d.actor}</strong>: {d.reason}
                </li>
              )}
            </For>
          </ol>
        </details>
      </Show>
    </div>
  );
}

function pct(n: number, of: number): number {
  return of === 0 ? 0 : Math.round((n / of) * 1000) / 10;
}

/** The active wave's failure share now and in the worst case, against its error threshold. */
function Gauge(props: { wave: Wave }) {
  const g = () => props.wave.abortGauge;
  const tone = () => (g().crossed ? 'danger' : g().wouldCross ? 'warning' : 'ok');
  return (
    <div class={`gauge gauge-${tone()}`} data-testid="abort-gauge" data-tone={tone()}>
      <div class="gauge-track">
        <span class="gauge-worst" style={{ width: `${Math.min(100, g().worstCasePercent)}%` }} />
        <span class="gauge-now" style={{ width: `${Math.min(100, g().failedPercent)}%` }} />
        <span class="gauge-threshold" style={{ left: `${g().thresholdPercent ?? 100}%` }} />
      </div>
      <div class="gauge-text">
        Failed {g().failedPercent}% of {formatCount(g().finished)} finished · worst case {g().worstCasePercent}% if the {formatCount(g().inFlight)} in flight
        fail · stops above {g().thresholdPercent}%{g().finished < g().minFinished ? ` (after ${g().minFinished} finished)` : ''}
      </div>
    </div>
  );
}
