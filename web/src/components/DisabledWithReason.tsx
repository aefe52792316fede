/**
 * A control that cannot succeed now is disabled, and says why (visibly, and as its accessible
 * description), instead of letting the operator fill a form that the server can only refuse.
 */
import { Show, type JSX } from 'solid-js';

let reasons = 0;

export function DisabledWithReason(props: { reason: string | null; children: (reasonId: string | null) => JSX.Element }) {
  const id = `disabled-reason-${++reasons}`;
  return (
    <span class="with-reason">
      {props.children(props.reason ? id : null)}
      <Show when={props.reason}>
        <span class="disabled-reason" id={id} data-testid="disabled-reason">
          {props.reason}
        </span>
      </Show>
    </span>
  );
}
