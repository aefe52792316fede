/**
 * The rollout plan of the Batch Upgrade dialog (issue 16): none (one wave), a preset, or custom
 * waves (cumulative share, success threshold, error threshold, approval gate), random order with a
 * seed, and a live preview from previewUpgradeJob of how many and which devices land in each wave.
 */
import { createEffect, createSignal, For, on, onCleanup, Show } from 'solid-js';
import type { SetStoreFunction } from 'solid-js/store';
import { client } from '../../api/client';
import { outcomeOf } from '../../api/outcome';
import { formatCount } from '../../format';
import { PreviewUpgradeJobQuery } from './documents';

export interface CustomWave {
  name: string;
  percent: string;
  success: string;
  errorPercent: string;
  approval: boolean;
}

export interface PlanValues {
  kind: 'NONE' | 'CANARY_10_50_100' | 'CANARY_APPROVAL_10_50_100' | 'CUSTOM';
  waves: CustomWave[];
  randomOrder: boolean;
  seed: string;
}

export function defaultPlan(): PlanValues {
  return {
    kind: 'NONE',
    waves: [
      { name: 'Canary', percent: '5', success: '95', errorPercent: '10', approval: true },
      { name: 'Everyone', percent: '100', success: '95', errorPercent: '10', approval: false },
    ],
    randomOrder: false,
    seed: '',
  };
}

/** The createUpgradeJob `rollout` input of the plan (undefined: one wave). */
export function rolloutInput(plan: PlanValues): Record<string, unknown> | undefined {
  if (plan.kind === 'NONE') return undefined;
  const order = { randomOrder: plan.randomOrder, ...(plan.randomOrder && plan.seed.trim() ? { seed: Number(plan.seed) } : {}) };
  if (plan.kind !== 'CUSTOM') return { preset: plan.kind, ...order };
  return {
    waves: plan.waves.map((w, i) => ({
      name: w.name.trim() || undefined,
      ...(i < plan.waves.length - 1 ? { percent: Number(w.percent) } : {}),
      successThresholdPercent: Number(w.success),
      ...(w.errorPercent.trim() ? { errorThreshold: { percent: Number(w.errorPercent), minFinished: 1 } } : {}),
      approvalRequired: i < plan.waves.length - 1 && w.approval,
    })),
    ...order,
  };
}

type Preview = {
  deviceCount: number;
  notFoundCount: number;
  seed: number | null;
  sampleDeviceKeys: string[];
  waves: { index: number; name: string; deviceCount: number; sampleDeviceKeys: string[] }[];
};

export function RolloutPlanBuilder(props: { plan: PlanValues; setPlan: SetStoreFunction<PlanValues>; input: () => Record<string, unknown> | null }) {
  const [preview, setPreview] = createSignal<Preview | null>(null);
  const [problem, setProblem] = createSignal<string | null>(null);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let generation = 0;
  onCleanup(() => clearTimeout(timer));
  // Debounced: the preview runs the creation and rolls it back, so it costs what creating the job costs.
  createEffect(
    on(
      () => JSON.stringify(props.input()),
      (text) => {
        clearTimeout(timer);
        const input = props.input();
        if (!input || !text) return;
        const gen = ++generation;
        timer = setTimeout(async () => {
          const result = await client.query(PreviewUpgradeJobQuery, { input: input as never }, { requestPolicy: 'network-only' }).toPromise();
          if (gen !== generation) return;
          const outcome = outcomeOf(result.error, result.data?.previewUpgradeJob);
          if (outcome.ok) {
            setPreview(outcome.data as Preview);
            setProblem(null);
          } else {
            setProblem(outcome.problem.message);
          }
        }, 400);
      },
    ),
  );
  const setWave = (i: number, field: keyof CustomWave, value: string | boolean) => props.setPlan('waves', i, field as never, value as never);
  return (
    <fieldset class="fieldset field-wide" data-field="rollout" data-testid="rollout-plan">
      <legend>Rollout plan</legend>
      <div class="inline-fields">
        <label class="field">
          <span class="field-label">Waves</span>
          <select class="input" name="rolloutPlan" value={props.plan.kind} onChange={(e) => props.setPlan('kind', e.currentTarget.value as PlanValues['kind'])}>
            <option value="NONE">One wave (no plan)</option>
            <option value="CANARY_10_50_100">Canary 1 %, then 10 %, 50 %, 100 %</option>
            <option value="CANARY_APPROVAL_10_50_100">Canary 1 %, approval, then 10 %, 50 %, 100 %</option>
            <option value="CUSTOM">Custom waves</option>
          </select>
        </label>
        <Show when={props.plan.kind !== 'NONE'}>
          <label class="check">
            <input
              type="checkbox"
              name="randomOrder"
              checked={props.plan.randomOrder}
              onChange={(e) => props.setPlan('randomOrder', e.currentTarget.checked)}
            />
            Random order
          </label>
          <Show when={props.plan.randomOrder}>
            <label class="field">
              <span class="field-label">Seed (empty: drawn)</span>
              <input class="input" type="number" name="seed" min="0" value={props.plan.seed} onInput={(e) => props.setPlan('seed', e.currentTarget.value)} />
            </label>
          </Show>
        </Show>
      </div>
      <Show when={props.plan.kind === 'CUSTOM'}>
        <div class="wave-plan">
          <div class="wave-plan-row muted">
            <span>Name</span>
            <span>Up to % of targets</span>
            <span>Next wave at % ok</span>
            <span>Stop above % failed</span>
            <span>Approval</span>
          </div>
          <For each={props.plan.waves}>
            {(w, i) => (
              <div class="wave-plan-row" data-testid={`plan-wave-${i()}`}>
                <input class="input" aria-label={`Wave ${i() + 1} name`} value={w.name} onInput={(e) => setWave(i(), 'name', e.currentTarget.value)} />
                <input
                  class="input"
                  type="number"
                  min="1"
                  max="100"
                  aria-label={`Wave ${i() + 1} share`}
                  disabled={i() === props.plan.waves.length - 1}
                  value={i() === props.plan.waves.length - 1 ? '100' : w.percent}
                  onInput={(e) => setWave(i(), 'percent', e.currentTarget.value)}
                />
                <input
                  class="input"
                  type="number"
                  min="1"
                  max="100"
                  aria-label={`Wave ${i() + 1} success threshold`}
                  value={w.success}
                  onInput={(e) => setWave(i(), 'success', e.currentTarget.value)}
                />
                <input
                  class="input"
                  type="number"
                  min="1"
                  max="100"
                  aria-label={`Wave ${i() + 1} error threshold`}
                  value={w.errorPercent}
                  onInput={(e) => setWave(i(), 'errorPercent', e.currentTarget.value)}
                />
                <input
                  type="checkbox"
                  aria-label={`Approval after wave ${i() + 1}`}
                  disabled={i() === props.plan.waves.length - 1}
                  checked={w.approval && i() < props.plan.waves.length - 1}
                  onChange={(e) => setWave(i(), 'approval', e.currentTarget.checked)}
                />
              </div>
            )}
          </For>
          <div>
            <button
              type="button"
              class="btn"
              disabled={props.plan.waves.length >= 50}
              onClick={() =>
                props.setPlan('waves', (waves) => [
                  ...waves.slice(0, -1),
                  { name: '', percent: '50', success: '95', errorPercent: '10', approval: false },
                  waves[waves.length - 1],
                ])
              }
            >
              Add wave
            </button>{' '}
            <button
              type="button"
              class="btn"
              disabled={props.plan.waves.length <= 1}
              onClick={() => props.setPlan('waves', (waves) => [...waves.slice(0, -2), waves[waves.length - 1]])}
            >
              Remove wave
            </button>
          </div>
        </div>
      </Show>
      <div class="wave-preview" data-testid="plan-preview" aria-live="polite">
        <Show when={problem()} fallback={<PreviewText preview={preview()} planned={props.plan.kind !== 'NONE'} />}>
          <span class="field-error">{problem()}</span>
        </Show>
      </div>
    </fieldset>
  );
}

function PreviewText(props: { preview: Preview | null; planned: boolean }) {
  return (
    <Show when={props.preview} fallback={<span class="muted">Preview: choose the scope to see which devices the job targets.</span>}>
      {(p) => (
        <>
          <div data-testid="preview-count">
            The scope matches <strong>{formatCount(p().deviceCount)}</strong> devices
            {p().notFoundCount ? ` (${formatCount(p().notFoundCount)} listed keys not found)` : ''}
            {p().seed !== null ? `, random order seed ${p().seed}` : ''}: {p().sampleDeviceKeys.join(', ')}
            {p().deviceCount > p().sampleDeviceKeys.length ? ', …' : ''}
          </div>
          <Show when={props.planned}>
            <ol class="preview-waves">
              <For each={p().waves}>
                {(w) => (
                  <li data-testid={`preview-wave-${w.index}`}>
                    {w.name}: <strong>{formatCount(w.deviceCount)}</strong> <span class="muted">{w.sampleDeviceKeys.join(', ')}</span>
                  </li>
                )}
              </For>
            </ol>
          </Show>
        </>
      )}
    </Show>
  );
}
