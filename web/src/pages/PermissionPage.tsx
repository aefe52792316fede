/**
 * What a caller sees where it lacks a permission: which one, and whom to ask (the EnOS page: "If not,
 * contact your OU administrator").
 */
import { Show, type JSX } from 'solid-js';
import { PERMISSION_LABELS } from '../labels';
import { useSession, type Permission } from '../session';

export function PermissionNotice(props: { permission?: string; message?: string }) {
  const session = useSession();
  const ou = () => session.me()?.organisationUnit.name;
  return (
    <section class="permission-page" data-testid="permission-page">
      <div class="permission-icon" aria-hidden="true">
        ⛔
      </div>
      <h1>You do not have permission to view this</h1>
      <Show when={props.permission} fallback={<p>{props.message ?? 'Your account lacks a permission this page needs.'}</p>}>
        <p>
          This page needs the permission <code class="permission-name">{props.permission}</code>
          <Show when={PERMISSION_LABELS[props.permission!]}> (to {PERMISSION_LABELS[props.permission!]})</Show>, which your account does not
          have.
        </p>
      </Show>
      <p>
        Ask the administrator of your organisation unit<Show when={ou()}> <strong>{ou()}</strong></Show> to grant it to you, then reload
        this page.
      </p>
    </section>
  );
}

/** Renders the children only when the caller has the permission; otherwise the notice. */
export function RequirePermission(props: { permission: Permission; children: JSX.Element }) {
  const session = useSession();
  return (
    <Show when={session.can(props.permission)} fallback={<PermissionNotice permission={props.permission} />}>
      {props.children}
    </Show>
  );
}
