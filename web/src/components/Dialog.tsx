/**
 * A modal dialog and a confirmation built on it. The native <dialog> opened with showModal() is the
 * platform's accessible modal: the page behind it is inert (focus cannot leave the dialog, screen
 * readers see only it), Escape closes it, and closing it returns focus to what opened it; the
 * heading names it (aria-labelledby).
 */
import { createEffect, onCleanup, Show, type JSX } from 'solid-js';

let dialogs = 0;

export function Dialog(props: { open: boolean; title: string; onClose: () => void; children: JSX.Element; footer?: JSX.Element; wide?: boolean }) {
  let ref: HTMLDialogElement | undefined;
  const titleId = `dialog-title-${++dialogs}`;
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
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      <Show when={props.open}>
        <header class="dialog-header">
          <h2 id={titleId}>{props.title}</h2>
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
  /** Nothing to do (any more): the confirm button cannot be pressed. */
  disabled?: boolean;
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
          <button
            type="button"
            class={`btn ${props.danger ? 'btn-danger' : 'btn-primary'}`}
            data-testid="confirm-action"
            onClick={() => props.onConfirm()}
            disabled={props.busy || props.disabled}
          >
            {props.busy ? 'Working…' : props.confirmLabel}
          </button>
        </>
      }
    >
      {props.children}
    </Dialog>
  );
}
