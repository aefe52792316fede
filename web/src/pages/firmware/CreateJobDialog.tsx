/**
 * The frame of Verify and Batch Upgrade: a job name, the settings the caller passes in, and one
 * button that checks the form, creates the job and opens its details page, or shows why the API
 * refused, next to the fields concerned.
 */
import { useNavigate } from '@solidjs/router';
import { createSignal, For, Show, type JSX } from 'solid-js';
import type { Outcome } from '../../api/outcome';
import { Dialog } from '../../components/Dialog';
import { Field, fieldErrorsOf, focusFirstError, invalidProps, type FieldErrors } from '../../components/Form';
import { jobFormFieldOf } from '../../components/JobSettingsForm';

export function CreateJobDialog(props: {
  title: string;
  testId: string;
  submitLabel: string;
  initialName: string;
  /** Disables the button while the form cannot be sent yet (e.g. no device chosen), with why. */
  incomplete?: string | null;
  /** The settings' own checks (JobSettingsForm's validateJobForm). */
  validate: () => FieldErrors;
  create: (name: string) => Promise<Outcome<{ id: string }>>;
  onClose: () => void;
  /** The job's settings, given the errors to show. */
  children: (errors: FieldErrors) => JSX.Element;
}) {
  const navigate = useNavigate();
  const [name, setName] = createSignal(props.initialName);
  const [errors, setErrors] = createSignal<FieldErrors>({});
  const [general, setGeneral] = createSignal<string[]>([]);
  const [busy, setBusy] = createSignal(false);
  let form: HTMLDivElement | undefined;
  const submit = async () => {
    setGeneral([]);
    const checked: FieldErrors = {};
    if (!name().trim()) checked.name = 'Give the job a name.';
    else if (name().trim().length > 100) checked.name = 'At most 100 characters.';
    Object.assign(checked, props.validate());
    setErrors(checked);
    if (Object.keys(checked).length > 0) return focusFirstError(form);
    setBusy(true);
    const outcome = await props.create(name().trim());
    setBusy(false);
    if (!outcome.ok) {
      const mapped = fieldErrorsOf(outcome.problem, jobFormFieldOf);
      setErrors(mapped.fields);
      setGeneral(mapped.general);
      return focusFirstError(form);
    }
    navigate(`/jobs/${encodeURIComponent(outcome.data.id)}`);
  };
  return (
    <Dialog
      open
      wide
      title={props.title}
      onClose={props.onClose}
      footer={
        <>
          <Show when={general().length > 0}>
            <div class="form-problem" role="alert" data-testid="create-error">
              <For each={general()}>{(line) => <div>{line}</div>}</For>
            </div>
          </Show>
          <Show when={props.incomplete}>
            <span class="muted">{props.incomplete}</span>
          </Show>
          <button type="button" class="btn" onClick={() => props.onClose()}>
            Close
          </button>
          <button type="button" class="btn btn-primary" disabled={busy() || !!props.incomplete} onClick={() => void submit()}>
            {busy() ? 'Creating…' : props.submitLabel}
          </button>
        </>
      }
    >
      <div data-testid={props.testId} ref={form}>
        <Field label="Job name" name="name" errors={errors()} wide>
          <input class="input" name="name" value={name()} onInput={(e) => setName(e.currentTarget.value)} {...invalidProps(errors(), 'name')} />
        </Field>
        {props.children(errors())}
      </div>
    </Dialog>
  );
}
