/**
 * Roles (OU_ADMIN): named sets of permissions. A user has the permissions of all their roles;
 * changing a role changes its holders' permissions at once (and their tokens'). Each permission's
 * checkbox says what it allows.
 */
import { createQuery } from '@urql/solid';
import { createSignal, For, Show } from 'solid-js';
import { client } from '../../api/client';
import { readFragment, type ResultOf } from '../../api/graphql';
import { outcomeOf } from '../../api/outcome';
import { ConfirmDialog, Dialog } from '../../components/Dialog';
import { Field, fieldErrorsOf, focusFirstError, invalidProps, FieldError, type FieldErrors } from '../../components/Form';
import { ListView } from '../../components/ListView';
import { Banner, Empty } from '../../components/States';
import type { Permission } from '../../labels';
import { useTimes } from '../../times';
import { CreateRoleMutation, DeleteRoleMutation, RoleFields, RolesQuery, UpdateRoleMutation } from './documents';
import { PermissionChecklist } from './PermissionChecklist';

type RoleNode = ResultOf<typeof RolesQuery>['roles'][number];

export function RolesPage() {
  const [query, refetch] = createQuery({ query: RolesQuery, variables: {}, requestPolicy: 'network-only' });
  const [editing, setEditing] = createSignal<RoleNode | 'new' | null>(null);
  const [deleting, setDeleting] = createSignal<RoleNode | null>(null);
  const [notice, setNotice] = createSignal<{ kind: 'success' | 'error'; text: string } | null>(null);
  const times = useTimes();
  const reload = () => refetch({ requestPolicy: 'network-only' });
  const remove = async (role: RoleNode) => {
    const result = await client.mutation(DeleteRoleMutation, { id: readFragment(RoleFields, role).id }).toPromise();
    setDeleting(null);
    const outcome = outcomeOf(result.error, result.data?.deleteRole);
    const r = readFragment(RoleFields, role);
    setNotice(outcome.ok ? { kind: 'success', text: `Role “${r.name}” deleted.` } : { kind: 'error', text: outcome.problem.message });
    reload();
  };
  return (
    <section class="page">
      <header class="page-header">
        <div>
          <div class="breadcrumb">Administration</div>
          <h1>Roles</h1>
        </div>
        <div class="page-actions">
          <button type="button" class="btn btn-primary" onClick={() => setEditing('new')}>
            New role
          </button>
        </div>
      </header>
      <Show when={notice()}>
        {(n) => (
          <Banner kind={n().kind} onClose={() => setNotice(null)}>
            <span data-testid="admin-notice">{n().text}</span>
          </Banner>
        )}
      </Show>
      <ListView
        connection={query.data ? { nodes: query.data.roles } : undefined}
        error={query.error}
        fetching={query.fetching}
        loadingLabel="Loading roles…"
        empty={<Empty title="No roles">Create a role, then give it to users.</Empty>}
        onRetry={reload}
      >
        {(c) => (
          <div class="table-scroll">
            <table class="table" data-testid="roles-table">
              <thead>
                <tr>
                  <th>Role</th>
                  <th>Permissions</th>
                  <th>Holders</th>
                  <th>Changed</th>
                  <th class="actions">Actions</th>
                </tr>
              </thead>
              <tbody>
                <For each={c().nodes}>
                  {(role) => {
                    const r = () => readFragment(RoleFields, role);
                    return (
                      <tr data-testid="role-row" data-role={r().name}>
                        <td>
                          <div class="link-strong">{r().name}</div>
                          <Show when={r().description}>
                            <div class="sub">{r().description}</div>
                          </Show>
                        </td>
                        <td class="wrap-cell">
                          <For each={r().permissions} fallback={<span class="muted">None</span>}>
                            {(p) => <span class="tag mono">{p}</span>}
                          </For>
                        </td>
                        <td>{role.users.length ? role.users.map((u) => u.username).join(', ') : <span class="muted">Nobody</span>}</td>
                        <td class="nowrap">{times.format(r().updatedAt)}</td>
                        <td class="actions nowrap">
                          <button type="button" class="btn btn-small" onClick={() => setEditing(role)}>
                            Edit
                          </button>
                          <button type="button" class="btn btn-small btn-danger-outline" onClick={() => setDeleting(role)}>
                            Delete
                          </button>
                        </td>
                      </tr>
                    );
                  }}
                </For>
              </tbody>
            </table>
          </div>
        )}
      </ListView>
      <Show when={editing()}>
        {(role) => (
          <RoleDialog
            role={role() === 'new' ? null : readFragment(RoleFields, role() as RoleNode)}
            onClose={() => setEditing(null)}
            onSaved={(text) => {
              setEditing(null);
              setNotice({ kind: 'success', text });
              reload();
            }}
          />
        )}
      </Show>
      <ConfirmDialog
        open={deleting() !== null}
        title="Delete role"
        confirmLabel="Delete role"
        danger
        onConfirm={() => void remove(deleting()!)}
        onClose={() => setDeleting(null)}
      >
        <p>
          Delete “{deleting() ? readFragment(RoleFields, deleting()!).name : ''}”? Its holders lose its permissions at once, and so do their tokens. The last
          role that keeps an administrator cannot be deleted.
        </p>
      </ConfirmDialog>
    </section>
  );
}

function RoleDialog(props: {
  role: { id: string; name: string; description: string; permissions: readonly string[] } | null;
  onClose: () => void;
  onSaved: (text: string) => void;
}) {
  const [name, setName] = createSignal(props.role?.name ?? '');
  const [description, setDescription] = createSignal(props.role?.description ?? '');
  const [permissions, setPermissions] = createSignal<Permission[]>([...((props.role?.permissions ?? []) as Permission[])]);
  const [errors, setErrors] = createSignal<FieldErrors>({});
  const [busy, setBusy] = createSignal(false);
  let form: HTMLDivElement | undefined;
  const save = async () => {
    const checked: FieldErrors = {};
    if (!name().trim()) checked.name = 'Give the role a name.';
    else if (name().trim().length > 60) checked.name = 'At most 60 characters.';
    setErrors(checked);
    if (Object.keys(checked).length) return focusFirstError(form);
    setBusy(true);
    const input = { name: name().trim(), description: description().trim(), permissions: permissions() };
    const result = props.role
      ? await client
          .mutation(UpdateRoleMutation, { input: { roleId: props.role.id, ...input } })
          .toPromise()
          .then((r) => outcomeOf(r.error, r.data?.updateRole))
      : await client
          .mutation(CreateRoleMutation, { input })
          .toPromise()
          .then((r) => outcomeOf(r.error, r.data?.createRole));
    setBusy(false);
    if (!result.ok) {
      const mapped = fieldErrorsOf(result.problem, (path) => (path[0] === 'name' ? 'name' : path[0] === 'permissions' ? 'permissions' : null));
      setErrors({ ...mapped.fields, ...(mapped.general.length ? { form: mapped.general.join(' ') } : {}) });
      return focusFirstError(form);
    }
    props.onSaved(props.role ? `Role “${input.name}” saved: its holders have its new permissions now.` : `Role “${input.name}” created.`);
  };
  return (
    <Dialog
      open
      wide
      title={props.role ? `Edit role ${props.role.name}` : 'New role'}
      onClose={props.onClose}
      footer={
        <>
          <Show when={errors().form}>
            <div class="form-problem" role="alert">
              {errors().form}
            </div>
          </Show>
          <button type="button" class="btn" onClick={() => props.onClose()}>
            Close
          </button>
          <button type="button" class="btn btn-primary" disabled={busy()} onClick={() => void save()}>
            {busy() ? 'Saving…' : 'Save role'}
          </button>
        </>
      }
    >
      <div data-testid="role-form" ref={form}>
        <div class="form-grid">
          <Field label="Name" name="name" errors={errors()}>
            <input class="input" name="name" value={name()} onInput={(e) => setName(e.currentTarget.value)} {...invalidProps(errors(), 'name')} />
          </Field>
          <Field label="Description" name="description" errors={errors()}>
            <input class="input" name="description" value={description()} onInput={(e) => setDescription(e.currentTarget.value)} />
          </Field>
        </div>
        <PermissionChecklist name="role-permissions" selected={permissions()} onChange={setPermissions} invalid={!!errors().permissions} />
        <FieldError errors={errors()} name="permissions" />
      </div>
    </Dialog>
  );
}
