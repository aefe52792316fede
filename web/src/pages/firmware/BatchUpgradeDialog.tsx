/** Batch Upgrade: an upgrade job of this firmware with every setting (scope, policy, limits, schedule…). */
import { Show } from 'solid-js';
import { createStore } from 'solid-js/store';
import { client } from '../../api/client';
import { outcomeOf } from '../../api/outcome';
import { defaultJobForm, JobSettingsForm, jobSettingsInput, UPGRADE_FIELDS, validateJobForm } from '../../components/JobSettingsForm';
import { Banner } from '../../components/States';
import { CreateJobDialog } from './CreateJobDialog';
import { CreateUpgradeJobMutation } from './documents';
import type { FirmwareItem } from './FirmwarePage';
import { defaultPlan, RolloutPlanBuilder, rolloutInput } from './RolloutPlanBuilder';

export function BatchUpgradeDialog(props: { firmware: FirmwareItem; onClose: () => void }) {
  const [values, setValues] = createStore(defaultJobForm());
  const [plan, setPlan] = createStore(defaultPlan());
  const inputOf = (name: string) => {
    const { allDevices, deviceKeys, srcVersions, tags, ...settings } = jobSettingsInput(values, UPGRADE_FIELDS);
    return { firmwareId: props.firmware.id, name, scope: { allDevices, deviceKeys, srcVersions, tags }, ...settings, rollout: rolloutInput(plan) };
  };
  /** The preview's input: the form as it is, once it is valid enough to send. */
  const previewInput = () => (unverified() || Object.keys(validateJobForm(values, 'UPGRADE', UPGRADE_FIELDS)).length > 0 ? null : inputOf('Preview'));
  const create = async (name: string) => {
    const input = inputOf(name);
    const result = await client.mutation(CreateUpgradeJobMutation, { input: input as never }).toPromise();
    return outcomeOf(result.error, result.data?.createUpgradeJob);
  };
  const unverified = () => props.firmware.requireVerification && !props.firmware.verified;
  return (
    <CreateJobDialog
      title={`Batch Upgrade to ${props.firmware.name} (${props.firmware.version})`}
      testId="batch-upgrade-form"
      submitLabel="Create upgrade job"
      initialName={`Upgrade to ${props.firmware.version}`}
      incomplete={unverified() ? 'This firmware must be verified first.' : null}
      validate={() => validateJobForm(values, 'UPGRADE', UPGRADE_FIELDS)}
      create={create}
      onClose={props.onClose}
    >
      {(errors) => (
        <>
          <Show when={unverified()}>
            <Banner kind="warning">This firmware must pass a verification job before it can be rolled out: use Verify first.</Banner>
          </Show>
          <JobSettingsForm type="UPGRADE" values={values} setValues={setValues} enabled={() => true} errors={errors} />
          <RolloutPlanBuilder plan={plan} setPlan={setPlan} input={previewInput} />
        </>
      )}
    </CreateJobDialog>
  );
}
