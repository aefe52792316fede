/**
 * The "Verification Job" / "Upgrade Job" edit form: type, name, product and firmware are shown but
 * never editable; of the settings only the job's `editableFields` are enabled, and while a
 * verification job executes none are, with the reason shown (DESIGN §3, the EnOS page's note).
 */
import { createSignal, Show } from 'solid-js';
import { createStore } from 'solid-js/store';
import { client } from '../../api/client';
import { readFragment, type FragmentOf } from '../../api/graphql';
import { outcomeOf, type ApiProblem } from '../../api/outcome';
import { Dialog } from '../../components/Dialog';
import { jobFormFrom, JobSettingsForm, jobSettingsInput, type JobField, type JobSettings } from '../../components/JobSettingsForm';
import { Banner, ProblemBanner } from '../../components/States';
import { JOB_TYPE_LABELS, type JobType } from '../../labels';
import { EditJobMutation, JobSettingsFields, type JobDetail } from './documents';

export function JobEditDialog(props: { job: JobDetail; open: boolean; canControl: boolean; onClose: () => void; onSaved: (summary: string) => void }) {
  const settings = () => readFragment(JobSettingsFields, props.job as unknown as FragmentOf<typeof JobSettingsFields>) as unknown as JobSettings;
  const [values, setValues] = createStore(jobFormFrom(settings()));
  const [problem, setProblem] = createSignal<ApiProblem | null>(null);
  const [busy, setBusy] = createSignal(false);
  const editable = () => (props.canControl ? (props.job.editableFields as readonly JobField[]) : []);
  const type = () => props.job.type as JobType;

  const save = async () => {
    setBusy(true);
    setProblem(null);
    const input = { jobId: props.job.id, ...jobSettingsInput(values, editable()) };
    const result = await client.mutation(EditJobMutation, { input: input as never }).toPromise();
    setBusy(false);
    const outcome = outcomeOf(result.error, result.data?.editJob);
    if (!outcome.ok) return setProblem(outcome.problem);
    const { changedFields, devicesAdded, devicesRemoved } = outcome.data;
    const parts = [changedFields.length ? `Saved: ${changedFields.join(', ')} changed.` : 'Nothing changed.'];
    if (devicesAdded) parts.push(`${devicesAdded} devices added.`);
    if (devicesRemoved) parts.push(`${devicesRemoved} To be Pushed devices removed.`);
    props.onSaved(parts.join(' '));
  };

  return (
    <Dialog
      open={props.open}
      wide
      title={`${JOB_TYPE_LABELS[type()]} Job`}
      onClose={props.onClose}
      footer={
        <>
          <button type="button" class="btn" onClick={() => props.onClose()}>
            Close
          </button>
          <button type="button" class="btn btn-primary" disabled={busy() || editable().length === 0} onClick={() => void save()}>
            {busy() ? 'Saving…' : 'Save changes'}
          </button>
        </>
      }
    >
      <div data-testid="job-edit-form">
        <Show when={props.job.notEditableReason}>
          <Banner kind="warning">
            <span data-testid="not-editable-reason">{props.job.notEditableReason}</span>
          </Banner>
        </Show>
        <Show when={!props.canControl}>
          <Banner kind="info">Editing a job needs the OTA_CONTROL permission. Ask your organisation unit's administrator.</Banner>
        </Show>
        <div class="form-grid readonly-grid">
          <label class="field">
            <span class="field-label">Job type</span>
            <input class="input" name="type" disabled value={JOB_TYPE_LABELS[type()]} />
          </label>
          <label class="field">
            <span class="field-label">Job name</span>
            <input class="input" name="name" disabled value={props.job.name} />
          </label>
          <label class="field">
            <span class="field-label">Product</span>
            <input class="input" name="product" disabled value={props.job.product.name} />
          </label>
          <label class="field">
            <span class="field-label">Firmware</span>
            <input class="input" name="firmware" disabled value={`${props.job.firmware.name} (${props.job.firmware.version})`} />
          </label>
        </div>
        <JobSettingsForm type={type()} values={values} setValues={setValues} enabled={(field) => editable().includes(field)} />
        <ProblemBanner problem={problem()} testId="edit-error" />
      </div>
    </Dialog>
  );
}
