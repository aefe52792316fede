/**
 * The "Verification Job" / "Upgrade Job" edit form: type, name, product and firmware are shown but
 * never editable; of the settings only the job's `editableFields` are enabled, and while a
 * verification job executes none are, with the reason shown (DESIGN §3, the EnOS page's note).
 * Only the settings the operator changed are sent; errors appear next to their fields.
 */
import { createEffect, createSignal, For, on, Show } from 'solid-js';
import { createStore, reconcile } from 'solid-js/store';
import { client } from '../../api/client';
import { readFragment, type FragmentOf } from '../../api/graphql';
import { outcomeOf } from '../../api/outcome';
import { Dialog } from '../../components/Dialog';
import { fieldErrorsOf, focusFirstError, type FieldErrors } from '../../components/Form';
import {
  changedSettings,
  jobFormFieldOf,
  jobFormFrom,
  JobSettingsForm,
  validateJobForm,
  type JobField,
  type JobSettings,
} from '../../components/JobSettingsForm';
import { Banner } from '../../components/States';
import { formatCount } from '../../format';
import { JOB_FIELD_LABELS, JOB_TYPE_LABELS, type JobType } from '../../labels';
import { EditJobMutation, JobSettingsFields, type JobDetail } from './documents';

/** "Max concurrency and Timeout changed; 1 device added." */
export function editSummary(result: { changedFields: readonly string[]; devicesAdded: number; devicesRemoved: number }): string {
  const names = result.changedFields.map((f) => JOB_FIELD_LABELS[f] ?? f);
  const list = names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  const parts = [names.length ? `Saved: ${list} changed` : 'Nothing changed: the settings were already these'];
  const devices = (n: number) => `${formatCount(n)} ${n === 1 ? 'device' : 'devices'}`;
  if (result.devicesAdded) parts.push(`${devices(result.devicesAdded)} added`);
  if (result.devicesRemoved) parts.push(`${devices(result.devicesRemoved)} still To be Pushed removed`);
  return `${parts.join('; ')}.`;
}

export function JobEditDialog(props: { job: JobDetail; open: boolean; canControl: boolean; onClose: () => void; onSaved: (summary: string) => void }) {
  const settings = () => readFragment(JobSettingsFields, props.job as unknown as FragmentOf<typeof JobSettingsFields>) as unknown as JobSettings;
  // The form starts from the job as it is when the dialog opens; what is sent is what differs from that.
  let initial = jobFormFrom(settings());
  const [values, setValues] = createStore(initial);
  const [errors, setErrors] = createSignal<FieldErrors>({});
  const [general, setGeneral] = createSignal<string[]>([]);
  const [busy, setBusy] = createSignal(false);
  let form: HTMLDivElement | undefined;
  createEffect(
    on(
      () => props.open,
      (open) => {
        if (!open) return;
        initial = jobFormFrom(settings());
        setValues(reconcile(initial));
        setErrors({});
        setGeneral([]);
      },
    ),
  );
  // Once errors are shown, they follow the operator's corrections.
  createEffect(
    on(
      () => JSON.stringify(values),
      () => Object.keys(errors()).length > 0 && setErrors(validateJobForm(values, type(), editable())),
      { defer: true },
    ),
  );
  const editable = () => (props.canControl ? (props.job.editableFields as readonly JobField[]) : []);
  const type = () => props.job.type as JobType;

  const save = async () => {
    setGeneral([]);
    const checked = validateJobForm(values, type(), editable());
    setErrors(checked);
    if (Object.keys(checked).length > 0) return focusFirstError(form);
    const changes = changedSettings(values, initial, editable());
    if (Object.keys(changes).length === 0) return props.onSaved('Nothing to save: no setting was changed.');
    setBusy(true);
    const result = await client.mutation(EditJobMutation, { input: { jobId: props.job.id, ...changes } as never }).toPromise();
    setBusy(false);
    const outcome = outcomeOf(result.error, result.data?.editJob);
    if (!outcome.ok) {
      const mapped = fieldErrorsOf(outcome.problem, jobFormFieldOf);
      setErrors(mapped.fields);
      setGeneral(mapped.general);
      return focusFirstError(form);
    }
    props.onSaved(editSummary(outcome.data));
  };

  return (
    <Dialog
      open={props.open}
      wide
      title={`${JOB_TYPE_LABELS[type()]} Job`}
      onClose={props.onClose}
      footer={
        <>
          <Show when={general().length > 0}>
            <div class="form-problem" role="alert" data-testid="edit-error">
              <For each={general()}>{(line) => <div>{line}</div>}</For>
            </div>
          </Show>
          <Show when={Object.keys(errors()).length > 0 && general().length === 0}>
            <div class="form-problem" role="alert" data-testid="edit-error">
              {Object.keys(errors()).length === 1 ? 'One field needs attention.' : `${Object.keys(errors()).length} fields need attention.`}
            </div>
          </Show>
          <button type="button" class="btn" onClick={() => props.onClose()}>
            Close
          </button>
          <button type="button" class="btn btn-primary" disabled={busy() || editable().length === 0} onClick={() => void save()}>
            {busy() ? 'Saving…' : 'Save changes'}
          </button>
        </>
      }
    >
      <div data-testid="job-edit-form" ref={form}>
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
        <JobSettingsForm type={type()} values={values} setValues={setValues} enabled={(field) => editable().includes(field)} errors={errors()} />
      </div>
    </Dialog>
  );
}
