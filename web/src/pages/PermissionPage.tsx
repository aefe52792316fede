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
      <svg class="permission-icon" viewBox="0 0 24 24" width="32" height="32" aria-hidden="true">
        <rect x="4" y="10" width="16" height="11" rx="2" fill="currentColor" opacity="0.15" />
        <rect x="4" y="10" width="16" height="11" rx="2" fill="none" stroke="currentColor" stroke-width="1.6" />
        <path d="M8 10V7a4 4 0 0 1 8 0v3" fill="none" stroke="currentColor" stroke-width="1.6" />
        <circle cx="12" cy="15.5" r="1.6" fill="currentColor" />
      </svg>
      <h1>You do not have permission to view this</h1>
      <Show when={props.permission} fallback={<p>{props.message ?? 'Your account lacks a permission this page needs.'}</p>}>
        <p>
          This page needs the permission <code class="permission-name">{props.permission}</code>
          <Show when={PERMISSION_LABELS[props.permission as Permission]}> (to {PERMISSION_LABELS[props.permission as Permission]})</Show>, which your account
          does not have.
        </p>
      </Show>
      <p>
        Ask the administrator of your organisation unit
        <Show when={ou()}>
          {' '}
          <strong>{ou()}</strong>
        </Show>{' '}
        to grant it to you, then reload this page.
      </p>
    </section>
  );
}

/** Renders the children only when the caller has the permission; otherwise the notice. */
export function RequirePermission(props: { permission: Permission; orPermission?: Permission; children: JSX.Element }) {
  const session = useSession();
  return (
    <Show
      when={session.can(props.permission) || (props.orPermission !== undefined && session.can(props.orPermission))}
      fallback={<PermissionNotice permission={props.permission} />}
    >
      {props.children}
    </Show>
  );
}
