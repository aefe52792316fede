/** Loading, empty and error states, the same on every page. */
import { For, Show, type JSX } from 'solid-js';
import type { ApiProblem } from '../api/outcome';
import { PermissionNotice } from '../pages/PermissionPage';

export function Loading(props: { label?: string }) {
  return (
    <div class="state state-loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      {props.label ?? 'Loading…'}
    </div>
  );
}

export function Empty(props: { title: string; children?: JSX.Element }) {
  return (
    <div class="state state-empty">
      <div class="state-title">{props.title}</div>
      <Show when={props.children}>
        <div class="state-text">{props.children}</div>
      </Show>
    </div>
  );
}

/** An API problem with its own message; a missing permission gets the permission notice. */
export function ProblemView(props: { problem: ApiProblem; onRetry?: () => void }) {
  return (
    <Show when={props.problem.code !== 'FORBIDDEN'} fallback={<PermissionNotice permission={props.problem.permission} message={props.problem.message} />}>
      <div class="state state-error" role="alert">
        <div class="state-title">{props.problem.code === 'NETWORK' ? 'Connection problem' : 'Something went wrong'}</div>
        <div class="state-text">{props.problem.message}</div>
        <ProblemDetails problem={props.problem} />
        <Show when={props.onRetry}>
          <button type="button" class="btn" onClick={() => props.onRetry?.()}>
            Try again
          </button>
        </Show>
      </div>
    </Show>
  );
}

export function ProblemDetails(props: { problem: ApiProblem }) {
  return (
    <Show when={props.problem.details.length > 0}>
      <ul class="problem-details">
        <For each={props.problem.details}>{(line) => <li>{line}</li>}</For>
      </ul>
    </Show>
  );
}

/** An inline message under a form or above a table: error, success or information. */
export function Banner(props: { kind: 'error' | 'success' | 'info' | 'warning'; children: JSX.Element; onClose?: () => void }) {
  return (
    <div class={`banner banner-${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'}>
      <div class="banner-body">{props.children}</div>
      <Show when={props.onClose}>
        <button type="button" class="banner-close" aria-label="Dismiss" onClick={() => props.onClose?.()}>
          ×
        </button>
      </Show>
    </div>
  );
}

/** A refused form: the API's message, and its details (input issues, refused fields…) below. */
export function ProblemBanner(props: { problem: ApiProblem | null; testId: string }) {
  return (
    <Show when={props.problem}>
      {(p) => (
        <Banner kind="error">
          <div data-testid={props.testId}>{p().message}</div>
          <ProblemDetails problem={p()} />
        </Banner>
      )}
    </Show>
  );
}
