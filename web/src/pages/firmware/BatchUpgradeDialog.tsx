/** Batch Upgrade: an upgrade job of this firmware with every setting (scope, policy, limits, schedule…). */
import { useNavigate } from '@solidjs/router';
import { createSignal, Show } from 'solid-js';
import { createStore } from 'solid-js/store';
import { client } from '../../api/client';
import { outcomeOf, type ApiProblem } from '../../api/outcome';
import { Dialog } from '../../components/Dialog';
import { defaultJobForm, JobSettingsForm, jobSettingsInput, UPGRADE_FIELDS } from '../../components/JobSettingsForm';
import { Banner, ProblemDetails } from '../../components/States';
import { CreateUpgradeJobMutation } from './documents';
import type { FirmwareItem } from './FirmwarePage';

export function BatchUpgradeDialog(props: { firmware: FirmwareItem; onClose: () => void }) {
  const navigate = useNavigate();
  const [name, setName] = createSignal(`Upgrade to ${props.firmware.version}`);
  const [values, setValues] = createStore(defaultJobForm());
  const [problem, setProblem] = createSignal<ApiProblem | null>(null);
  const [busy, setBusy] = createSignal(false);

  const create = async () => {
    setBusy(true);
    setProblem(null);
    const { allDevices, deviceKeys, srcVersions, tags, ...settings } = jobSettingsInput(values, UPGRADE_FIELDS);
    const input = { firmwareId: props.firmware.id, name: name().trim(), scope: { allDevices, deviceKeys, srcVersions, tags }, ...settings };
    const result = await client.mutation(CreateUpgradeJobMutation, { input: input as never }).toPromise();
    setBusy(false);
    const outcome = outcomeOf(result.error, result.data?.createUpgradeJob);
    if (!outcome.ok) return setProblem(outcome.problem);
    navigate(`/jobs/${encodeURIComponent(outcome.data.id)}`);
  };

  return (
    <Dialog
      open
      wide
      title={`Batch Upgrade to ${props.firmware.name} (${props.firmware.version})`}
      onClose={props.onClose}
      footer={
        <>
          <button class="btn" onClick={() => props.onClose()}>
            Close
          </button>
          <button class="btn btn-primary" disabled={busy()} onClick={() => void create()}>
            {busy() ? 'Creating…' : 'Create upgrade job'}
          </button>
        </>
      }
    >
      <div data-testid="batch-upgrade-form">
        <Show when={props.firmware.requireVerification && !props.firmware.verified}>
          <Banner kind="warning">This firmware must pass a verification job before it can be rolled out: use Verify first.</Banner>
        </Show>
        <label class="field field-wide">
          <span class="field-label">Job name</span>
          <input class="input" name="name" value={name()} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <JobSettingsForm type="UPGRADE" values={values} setValues={setValues} enabled={() => true} />
        <Show when={problem()}>
          {(p) => (
            <Banner kind="error">
              <div data-testid="create-error">{p().message}</div>
              <ProblemDetails problem={p()} />
            </Banner>
          )}
        </Show>
      </div>
    </Dialog>
  );
}
