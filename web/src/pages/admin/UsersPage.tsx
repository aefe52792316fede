/**
 * Users (OU_ADMIN): who may use the console and the API, their roles, whether they can sign in with
 * a password, and when they last did. Users are disabled, never deleted (jobs keep naming them);
 * disabling ends every session and token of theirs.
 */
import { createQuery } from '@urql/solid';
import { createSignal, For, Show } from 'solid-js';
import { client } from '../../api/client';
import { readFragment, type ResultOf } from '../../api/graphql';
import { outcomeOf, type Outcome } from '../../api/outcome';
import { Dialog } from '../../components/Dialog';
import { Field, fieldErrorsOf, focusFirstError, invalidProps, type FieldErrors } from '../../components/Form';
import { ListView } from '../../components/ListView';
import { Banner, Empty } from '../../components/States';
import { useSession } from '../../session';
import { useTimes } from '../../times';
import { CreateUserMutation, RoleFields, SetUserPasswordMutation, SetUserRolesMutation, UpdateUserMutation, UsersQuery } from './documents';

type UserNode = ResultOf<typeof UsersQuery>['users'][number];
type RoleOption = { id: string; name: string; permissions: readonly string[] };

export function UsersPage() {
  const [query, refetch] = createQuery({ query: UsersQuery, variables: {}, requestPolicy: 'network-only' });
  const [editing, setEditing] = createSignal<UserNode | 'new' | null>(null);
  const [notice, setNotice] = createSignal<string | null>(null);
  const times = useTimes();
  const roles = (): RoleOption[] => (query.data?.roles ?? []).map((r) => readFragment(RoleFields, r));
  const reload = () => refetch({ requestPolicy: 'network-only' });
  return (
    <section class="page">
      <header class="page-header">
        <div>
          <div class="breadcrumb">Administration</div>
          <h1>Users</h1>
        </div>
        <div class="page-actions">
          <button type="button" class="btn btn-primary" onClick={() => setEditing('new')}>
            New user
          </button>
        </div>
      </header>
      <Show when={notice()}>
        <Banner kind="success" onClose={() => setNotice(null)}>
          <span data-testid="admin-notice">{notice()}</span>
        </Banner>
      </Show>
      <ListView
        connection={query.data ? { nodes: query.data.users } : undefined}
        error={query.error}
        fetching={query.fetching}
        loadingLabel="Loading users…"
        empty={<Empty title="No users">Create the first user.</Empty>}
        onRetry={reload}
      >
        {(c) => (
          <div class="table-scroll">
            <table class="table" data-testid="users-table">
              <thead>
                <tr>
                  <th>User</th>
                  <th>Roles</th>
                  <th>Signs in with</th>
                  <th>State</th>
                  <th>Last sign-in</th>
                  <th class="actions">Actions</th>
                </tr>
              </thead>
              <tbody>
                <For each={c().nodes}>
                  {(u) => (
                    <tr data-testid="user-row" data-username={u.username}>
                      <td>
                        <div class="link-strong">{u.displayName}</div>
                        <div class="sub mono">{u.username}</div>
                      </td>
                      <td>{u.roles.length ? u.roles.map((r) => r.name).join(', ') : <span class="muted">No role</span>}</td>
                      <td>{u.hasPassword ? 'Password or API token' : 'API tokens only'}</td>
                      <td>{u.disabled ? <span class="badge badge-muted">Disabled</span> : <span class="badge badge-success">Active</span>}</td>
                      <td class="nowrap">{times.format(u.lastSignInAt)}</td>
                      <td class="actions">
                        <button type="button" class="btn btn-small" onClick={() => setEditing(u)}>
                          Edit
                        </button>
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        )}
      </ListView>
      <Show when={editing()}>
        {(user) => (
          <UserDialog
            user={user() === 'new' ? null : (user() as UserNode)}
            roles={roles()}
            onClose={() => setEditing(null)}
            onSaved={(text) => {
              setEditing(null);
              setNotice(text);
              reload();
            }}
          />
        )}
      </Show>
    </section>
  );
}

function UserDialog(props: { user: UserNode | null; roles: RoleOption[]; onClose: () => void; onSaved: (text: string) => void }) {
  const session = useSession();
  const [username, setUsername] = createSignal('');
  const [displayName, setDisplayName] = createSignal(props.user?.displayName ?? '');
  const [password, setPassword] = createSignal('');
  const [roleIds, setRoleIds] = createSignal<string[]>(props.user?.roles.map((r) => r.id) ?? []);
  const [disabled, setDisabled] = createSignal(props.user?.disabled ?? false);
  const [errors, setErrors] = createSignal<FieldErrors>({});
  const [busy, setBusy] = createSignal(false);
  let form: HTMLDivElement | undefined;
  const isSelf = () => props.user?.id === session.me()?.user.id;
  const fieldOf = (path: readonly string[]) =>
    ({ username: 'username', displayName: 'displayName', password: 'password', roleIds: 'roles', disabled: 'disabled' })[path[0] as string] ?? null;

  const fail = (outcome: Outcome<unknown> & { ok: false }) => {
    const mapped = fieldErrorsOf(outcome.problem, fieldOf);
    setErrors({ ...mapped.fields, ...(mapped.general.length ? { form: mapped.general.join(' ') } : {}) });
    focusFirstError(form);
  };
  const save = async () => {
    const checked: FieldErrors = {};
    if (!props.user && !/^[a-z0-9._@-]{1,64}$/i.test(username().trim())) checked.username = 'Use 1–64 letters, digits and . _ @ -';
    if (password() && password().length < 10) checked.password = 'At least 10 characters.';
    setErrors(checked);
    if (Object.keys(checked).length) return focusFirstError(form);
    setBusy(true);
    try {
      if (!props.user) {
        const r = await client
          .mutation(CreateUserMutation, {
            input: { username: username().trim(), displayName: displayName().trim() || null, password: password() || null, roleIds: roleIds() },
          })
          .toPromise();
        const outcome = outcomeOf(r.error, r.data?.createUser);
        if (!outcome.ok) return fail(outcome);
        return props.onSaved(`User “${outcome.data.username}” created.`);
      }
      const id = props.user.id;
      const changes: string[] = [];
      if (displayName().trim() !== props.user.displayName || disabled() !== props.user.disabled) {
        const r = await client.mutation(UpdateUserMutation, { input: { userId: id, displayName: displayName().trim(), disabled: disabled() } }).toPromise();
        const outcome = outcomeOf(r.error, r.data?.updateUser);
        if (!outcome.ok) return fail(outcome);
        changes.push(disabled() !== props.user.disabled ? (disabled() ? 'disabled (every session and token of theirs ended)' : 'enabled') : 'renamed');
      }
      const before = [...props.user.roles.map((r) => r.id)].sort().join();
      if ([...roleIds()].sort().join() !== before) {
        const r = await client.mutation(SetUserRolesMutation, { input: { userId: id, roleIds: roleIds() } }).toPromise();
        const outcome = outcomeOf(r.error, r.data?.setUserRoles);
        if (!outcome.ok) return fail(outcome);
        changes.push('roles set');
      }
      if (password()) {
        const r = await client.mutation(SetUserPasswordMutation, { input: { userId: id, password: password() } }).toPromise();
        const outcome = outcomeOf(r.error, r.data?.setUserPassword);
        if (!outcome.ok) return fail(outcome);
        changes.push('password set (their sessions ended)');
      }
      props.onSaved(changes.length ? `${props.user.username}: ${changes.join(', ')}.` : 'Nothing changed.');
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      open
      wide
      title={props.user ? `Edit user ${props.user.username}` : 'New user'}
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
            {busy() ? 'Saving…' : props.user ? 'Save user' : 'Create user'}
          </button>
        </>
      }
    >
      <div data-testid="user-form" ref={form}>
        <div class="form-grid">
          <Show
            when={!props.user}
            fallback={
              <label class="field">
                <span class="field-label">Username</span>
                <input class="input" name="username" disabled value={props.user!.username} />
              </label>
            }
          >
            <Field label="Username" name="username" errors={errors()} hint="Unique on this server; stored lower-case">
              <input
                class="input"
                name="username"
                value={username()}
                onInput={(e) => setUsername(e.currentTarget.value)}
                {...invalidProps(errors(), 'username')}
              />
            </Field>
          </Show>
          <Field label="Display name" name="displayName" errors={errors()}>
            <input
              class="input"
              name="displayName"
              value={displayName()}
              onInput={(e) => setDisplayName(e.currentTarget.value)}
              {...invalidProps(errors(), 'displayName')}
            />
          </Field>
          <Field
            label={props.user ? 'New password' : 'Password'}
            name="password"
            errors={errors()}
            hint={props.user ? 'Leave empty to keep it; setting one ends their sessions' : 'Optional: without one the user works with API tokens only'}
          >
            <input
              class="input"
              type="password"
              name="password"
              autocomplete="new-password"
              value={password()}
              onInput={(e) => setPassword(e.currentTarget.value)}
              {...invalidProps(errors(), 'password')}
            />
          </Field>
          <Show when={props.user}>
            <label class="check field">
              <input type="checkbox" name="disabled" checked={disabled()} disabled={isSelf()} onChange={(e) => setDisabled(e.currentTarget.checked)} />
              Disabled {isSelf() ? '(you cannot disable yourself)' : '(ends every session and token of theirs)'}
            </label>
          </Show>
        </div>
        <fieldset class="permission-list" aria-invalid={errors().roles ? 'true' : undefined}>
          <legend class="field-label">Roles</legend>
          <For each={props.roles} fallback={<span class="muted">No roles yet: create one on the Roles page.</span>}>
            {(role) => (
              <label class="permission-option">
                <input
                  type="checkbox"
                  name="roles"
                  value={role.id}
                  checked={roleIds().includes(role.id)}
                  onChange={(e) => setRoleIds((ids) => (e.currentTarget.checked ? [...ids, role.id] : ids.filter((i) => i !== role.id)))}
                />
                <span>
                  <strong>{role.name}</strong>
                  <span class="permission-meaning">{role.permissions.join(', ') || 'no permissions'}</span>
                </span>
              </label>
            )}
          </For>
          <Show when={errors().roles}>
            <span class="field-error">{errors().roles}</span>
          </Show>
        </fieldset>
      </div>
    </Dialog>
  );
}
