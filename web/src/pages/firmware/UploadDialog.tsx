/** Upload firmware for a product, with a progress bar; the API's refusal is shown with its message. */
import { createSignal, onCleanup, Show } from 'solid-js';
import { createStore } from 'solid-js/store';
import { readFragment } from '../../api/graphql';
import { outcomeOf, problemOfError, type ApiProblem } from '../../api/outcome';
import { uploadWithProgress } from '../../api/upload';
import { Dialog } from '../../components/Dialog';
import { ProgressBar } from '../../components/ProgressBar';
import { ProblemBanner } from '../../components/States';
import { formatBytes } from '../../format';
import { CombinedError } from '@urql/core';
import { FirmwareFields, UploadFirmwareMutation } from './documents';
import type { FirmwareItem } from './FirmwarePage';

export function UploadDialog(props: { product: { productKey: string; name: string }; onClose: () => void; onUploaded: (f: FirmwareItem) => void }) {
  const [form, setForm] = createStore({
    name: '',
    version: '',
    signMethod: 'SHA256' as 'SHA256' | 'MD5',
    sign: '',
    description: '',
    requireVerification: true,
    minSuccessForVerified: '',
  });
  const [file, setFile] = createSignal<File | null>(null);
  const [progress, setProgress] = createSignal<number | null>(null);
  const [problem, setProblem] = createSignal<ApiProblem | null>(null);
  const abort = new AbortController();
  onCleanup(() => abort.abort());

  const submit = async (e: Event) => {
    e.preventDefault();
    const chosen = file();
    if (!chosen) return setProblem({ message: 'Choose the firmware file to upload.', code: 'INVALID_INPUT', details: [] });
    setProblem(null);
    setProgress(0);
    const result = await uploadWithProgress(
      UploadFirmwareMutation,
      {
        input: {
          productKey: props.product.productKey,
          name: form.name.trim(),
          version: form.version.trim(),
          signMethod: form.signMethod,
          sign: form.sign.trim() || null,
          description: form.description.trim() || null,
          requireVerification: form.requireVerification,
          minSuccessForVerified: form.minSuccessForVerified ? Number(form.minSuccessForVerified) : null,
          file: null as unknown as File,
        },
      },
      'input.file',
      chosen,
      setProgress,
      abort.signal,
    );
    setProgress(null);
    if (result.failure) return setProblem({ message: result.failure, code: 'NETWORK', details: [] });
    const error = result.errors?.length ? new CombinedError({ graphQLErrors: result.errors as never }) : undefined;
    const outcome = outcomeOf(error, result.data?.uploadFirmware);
    if (!outcome.ok) return setProblem(error ? problemOfError(error) : outcome.problem);
    props.onUploaded(readFragment(FirmwareFields, outcome.data));
  };

  return (
    <Dialog open title={`Upload firmware for ${props.product.name}`} onClose={props.onClose}>
      <form class="form" onSubmit={submit} data-testid="upload-form">
        <div class="form-grid">
          <label class="field">
            <span class="field-label">Firmware name</span>
            <input class="input" name="name" required value={form.name} onInput={(e) => setForm('name', e.currentTarget.value)} />
          </label>
          <label class="field">
            <span class="field-label">Version</span>
            <input
              class="input"
              name="version"
              required
              placeholder="what devices report after upgrading"
              value={form.version}
              onInput={(e) => setForm('version', e.currentTarget.value)}
            />
          </label>
          <label class="field">
            <span class="field-label">Sign method</span>
            <select class="input" name="signMethod" value={form.signMethod} onChange={(e) => setForm('signMethod', e.currentTarget.value as 'SHA256' | 'MD5')}>
              <option value="SHA256">SHA256</option>
              <option value="MD5">MD5</option>
            </select>
          </label>
          <label class="field">
            <span class="field-label">Sign (optional)</span>
            <input
              class="input mono"
              name="sign"
              placeholder="hex digest; the upload is refused if the file differs"
              value={form.sign}
              onInput={(e) => setForm('sign', e.currentTarget.value)}
            />
          </label>
          <label class="field field-wide">
            <span class="field-label">Description</span>
            <input class="input" name="description" value={form.description} onInput={(e) => setForm('description', e.currentTarget.value)} />
          </label>
          <label class="check">
            <input
              type="checkbox"
              name="requireVerification"
              checked={form.requireVerification}
              onChange={(e) => setForm('requireVerification', e.currentTarget.checked)}
            />
            Requires verification before batch upgrades
          </label>
          <label class="field">
            <span class="field-label">Successes needed to verify</span>
            <input
              class="input"
              type="number"
              min="1"
              max="5"
              name="minSuccessForVerified"
              placeholder="all devices"
              value={form.minSuccessForVerified}
              onInput={(e) => setForm('minSuccessForVerified', e.currentTarget.value)}
            />
          </label>
          <label class="field field-wide">
            <span class="field-label">File</span>
            <input class="input" type="file" name="file" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
            <Show when={file()}>{(f) => <span class="field-hint">{formatBytes(f().size)}</span>}</Show>
          </label>
        </div>
        <Show when={progress() !== null}>
          <div data-testid="upload-progress">
            <ProgressBar value={Math.round(progress()! * 100)} label="Upload progress" />
          </div>
        </Show>
        <ProblemBanner problem={problem()} testId="upload-error" />
        <footer class="dialog-footer">
          <button type="button" class="btn" onClick={() => props.onClose()}>
            {progress() !== null ? 'Cancel upload' : 'Close'}
          </button>
          <button type="submit" class="btn btn-primary" disabled={progress() !== null}>
            {progress() !== null ? 'Uploading…' : 'Upload'}
          </button>
        </footer>
      </form>
    </Dialog>
  );
}
