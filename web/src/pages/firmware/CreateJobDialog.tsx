/**
 * The frame of Verify and Batch Upgrade: a job name, the settings the caller passes in, and one
 * button that creates the job and opens its details page, or shows why the API refused.
 */
import { useNavigate } from '@solidjs/router';
import { createSignal, type JSX } from 'solid-js';
import type { ApiProblem, Outcome } from '../../api/outcome';
import { Dialog } from '../../components/Dialog';
import { ProblemBanner } from '../../components/States';

export function CreateJobDialog(props: {
  title: string;
  testId: string;
  submitLabel: string;
  initialName: string;
  /** Disables the button while the form cannot be sent yet (e.g. no device chosen). */
  incomplete?: boolean;
  create: (name: string) => Promise<Outcome<{ id: string }>>;
  onClose: () => void;
  /** The job's settings. */
  children: JSX.Element;
}) {
  const navigate = useNavigate();
  const [name, setName] = createSignal(props.initialName);
  const [problem, setProblem] = createSignal<ApiProblem | null>(null);
  const [busy, setBusy] = createSignal(false);
  const submit = async () => {
    setBusy(true);
    setProblem(null);
    const outcome = await props.create(name().trim());
    setBusy(false);
    if (!outcome.ok) return setProblem(outcome.problem);
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
          <button type="button" class="btn" onClick={() => props.onClose()}>
            Close
          </button>
          <button type="button" class="btn btn-primary" disabled={busy() || props.incomplete} onClick={() => void submit()}>
            {busy() ? 'Creating…' : props.submitLabel}
          </button>
        </>
      }
    >
      <div data-testid={props.testId}>
        <label class="field field-wide">
          <span class="field-label">Job name</span>
          <input class="input" name="name" value={name()} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        {props.children}
        <ProblemBanner problem={problem()} testId="create-error" />
      </div>
    </Dialog>
  );
}
