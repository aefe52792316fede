/** Verify: a verification job of this firmware on one to five chosen devices. */
import { useNavigate } from '@solidjs/router';
import { createSignal, Show } from 'solid-js';
import { createStore } from 'solid-js/store';
import { client } from '../../api/client';
import { outcomeOf, type ApiProblem } from '../../api/outcome';
import { Dialog } from '../../components/Dialog';
import { defaultJobForm, JobSettingsForm, jobSettingsInput, VERIFICATION_FIELDS } from '../../components/JobSettingsForm';
import { Banner, ProblemDetails } from '../../components/States';
import { DevicePicker } from './DevicePicker';
import { CreateVerificationJobMutation } from './documents';
import type { FirmwareItem } from './FirmwarePage';

export function VerifyDialog(props: { firmware: FirmwareItem; onClose: () => void }) {
  const navigate = useNavigate();
  const [name, setName] = createSignal(`Verify ${props.firmware.version}`);
  const [values, setValues] = createStore(defaultJobForm());
  const [deviceKeys, setDeviceKeys] = createSignal<string[]>([]);
  const [problem, setProblem] = createSignal<ApiProblem | null>(null);
  const [busy, setBusy] = createSignal(false);

  const create = async () => {
    setBusy(true);
    setProblem(null);
    const settings = jobSettingsInput(values, ['srcVersions', 'timeoutMinutes']);
    const input = { firmwareId: props.firmware.id, name: name().trim(), deviceKeys: deviceKeys(), ...settings };
    const result = await client.mutation(CreateVerificationJobMutation, { input: input as never }).toPromise();
    setBusy(false);
    const outcome = outcomeOf(result.error, result.data?.createVerificationJob);
    if (!outcome.ok) return setProblem(outcome.problem);
    navigate(`/jobs/${encodeURIComponent(outcome.data.id)}`);
  };

  return (
    <Dialog
      open
      wide
      title={`Verify ${props.firmware.name} (${props.firmware.version})`}
      onClose={props.onClose}
      footer={
        <>
          <button class="btn" onClick={() => props.onClose()}>
            Close
          </button>
          <button class="btn btn-primary" disabled={busy() || deviceKeys().length === 0} onClick={() => void create()}>
            {busy() ? 'Creating…' : 'Create verification job'}
          </button>
        </>
      }
    >
      <div data-testid="verify-form">
        <label class="field field-wide">
          <span class="field-label">Job name</span>
          <input class="input" name="name" value={name()} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <JobSettingsForm
          type="VERIFICATION"
          values={values}
          setValues={setValues}
          enabled={(f) => VERIFICATION_FIELDS.includes(f)}
          deviceKeysControl={<DevicePicker productKey={props.firmware.product.productKey} max={5} selected={deviceKeys()} onChange={setDeviceKeys} />}
        />
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
