/**
 * A modal dialog (native <dialog>: focus trapping and Escape for free) and a confirmation built on it.
 */
import { createEffect, onCleanup, Show, type JSX } from 'solid-js';

export function Dialog(props: { open: boolean; title: string; onClose: () => void; children: JSX.Element; footer?: JSX.Element; wide?: boolean }) {
  let ref: HTMLDialogElement | undefined;
  createEffect(() => {
    if (!ref) return;
    if (props.open && !ref.open) ref.showModal();
    if (!props.open && ref.open) ref.close();
  });
  onCleanup(() => ref?.open && ref.close());
  return (
    <dialog
      ref={ref}
      class={`dialog ${props.wide ? 'dialog-wide' : ''}`}
      aria-label={props.title}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      <Show when={props.open}>
        <header class="dialog-header">
          <h2>{props.title}</h2>
          <button type="button" class="icon-btn" aria-label="Close" onClick={() => props.onClose()}>
            ×
          </button>
        </header>
        <div class="dialog-body">{props.children}</div>
        <Show when={props.footer}>
          <footer class="dialog-footer">{props.footer}</footer>
        </Show>
      </Show>
    </dialog>
  );
}

export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  children: JSX.Element;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onClose: () => void;
}) {
  return (
    <Dialog
      open={props.open}
      title={props.title}
      onClose={props.onClose}
      footer={
        <>
          <button type="button" class="btn" onClick={() => props.onClose()} disabled={props.busy}>
            Close
          </button>
          <button type="button" class={`btn ${props.danger ? 'btn-danger' : 'btn-primary'}`} onClick={() => props.onConfirm()} disabled={props.busy}>
            {props.busy ? 'Working…' : props.confirmLabel}
          </button>
        </>
      }
    >
      {props.children}
    </Dialog>
  );
}
