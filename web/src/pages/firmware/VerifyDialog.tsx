/** Verify: a verification job of this firmware on one to five chosen devices. */
import { createSignal } from 'solid-js';
import { createStore } from 'solid-js/store';
import { client } from '../../api/client';
import { outcomeOf } from '../../api/outcome';
import { defaultJobForm, JobSettingsForm, jobSettingsInput, validateJobForm } from '../../components/JobSettingsForm';
import { CreateJobDialog } from './CreateJobDialog';
import { DevicePicker } from './DevicePicker';
import { CreateVerificationJobMutation } from './documents';
import type { FirmwareItem } from './FirmwarePage';

export function VerifyDialog(props: { firmware: FirmwareItem; onClose: () => void }) {
  const [values, setValues] = createStore(defaultJobForm());
  const [deviceKeys, setDeviceKeys] = createSignal<string[]>([]);
  const create = async (name: string) => {
    const settings = jobSettingsInput(values, ['srcVersions', 'timeoutMinutes']);
    const input = { firmwareId: props.firmware.id, name, deviceKeys: deviceKeys(), ...settings };
    const result = await client.mutation(CreateVerificationJobMutation, { input: input as never }).toPromise();
    return outcomeOf(result.error, result.data?.createVerificationJob);
  };
  return (
    <CreateJobDialog
      title={`Verify ${props.firmware.name} (${props.firmware.version})`}
      testId="verify-form"
      submitLabel="Create verification job"
      initialName={`Verify ${props.firmware.version}`}
      incomplete={deviceKeys().length === 0 ? 'Choose the devices to verify on.' : null}
      validate={() => validateJobForm({ ...values, deviceKeys: deviceKeys().join(',') }, 'VERIFICATION', ['deviceKeys', 'srcVersions', 'timeoutMinutes'])}
      create={create}
      onClose={props.onClose}
    >
      {(errors) => (
        <JobSettingsForm
          type="VERIFICATION"
          values={values}
          setValues={setValues}
          enabled={(f) => f === 'srcVersions' || f === 'timeoutMinutes' || f === 'deviceKeys'}
          errors={errors}
          deviceKeysControl={<DevicePicker productKey={props.firmware.product.productKey} max={5} selected={deviceKeys()} onChange={setDeviceKeys} />}
        />
      )}
    </CreateJobDialog>
  );
}
