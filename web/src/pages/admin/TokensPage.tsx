/**
 * API tokens (OU_ADMIN): every user's tokens, with their permissions, expiry and last use (to the
 * minute); create one for a user with a subset of that user's permissions and an optional expiry
 * (the token is shown once, then only its hash exists), revoke one (its sessions and live
 * connections end).
 */
import { createQuery } from '@urql/solid';
import { createMemo, createSignal, For, Show } from 'solid-js';
import { client } from '../../api/client';
import { readFragment, type ResultOf } from '../../api/graphql';
import { outcomeOf } from '../../api/outcome';
import { ConfirmDialog, Dialog } from '../../components/Dialog';
import { Field, fieldErrorsOf, focusFirstError, invalidProps, FieldError, type FieldErrors } from '../../components/Form';
import { ListView } from '../../components/ListView';
import { Banner, Empty } from '../../components/States';
import { PERMISSIONS, type Permission } from '../../labels';
import { useSession } from '../../session';
import { fromZonedInput, useTimes } from '../../times';
import { CreateTokenMutation, RevokeTokenMutation, TokenFields, TokensQuery } from './documents';
import { PermissionChecklist } from './PermissionChecklist';

type UserNode = ResultOf<typeof TokensQuery>['users'][number];
type Token = ResultOf<typeof TokenFields> & { owner: UserNode };

export function TokensPage() {
  const [includeInactive, setIncludeInactive] = createSignal(false);
  const [query, refetch] = createQuery({ query: TokensQuery, variables: () => ({ includeInactive: includeInactive() }), requestPolicy: 'network-only' });
  const [creating, setCreating] = createSignal(false);
  const [created, setCreated] = createSignal<{ name: string; token: string } | null>(null);
  const [revoking, setRevoking] = createSignal<Token | null>(null);
  const [notice, setNotice] = createSignal<string | null>(null);
  const times = useTimes();
  const tokens = createMemo<Token[]>(() =>
    (query.data?.users ?? [])
      .flatMap((u) => u.apiTokens.map((t) => ({ ...readFragment(TokenFields, t), owner: u })))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt)),
  );
  const reload = () => refetch({ requestPolicy: 'network-only' });
  const revoke = async (token: Token) => {
    const result = await client.mutation(RevokeTokenMutation, { id: token.id }).toPromise();
    setRevoking(null);
    const outcome = outcomeOf(result.error, result.data?.revokeApiToken);
    setNotice(outcome.ok ? `Token “${token.name}” revoked: it and the sessions opened with it no longer work.` : outcome.problem.message);
    reload();
  };
  const expiry = (t: Token) => (t.revokedAt ? `Revoked ${times.format(t.revokedAt)}` : t.expiresAt ? times.format(t.expiresAt) : 'Never');
  return (
    <section class="page">
      <header class="page-header">
        <div>
          <div class="breadcrumb">Administration</div>
          <h1>API tokens</h1>
        </div>
        <div class="page-actions">
          <label class="check">
            <input type="checkbox" checked={includeInactive()} onChange={(e) => setIncludeInactive(e.currentTarget.checked)} />
            Show revoked and expired
          </label>
          <button type="button" class="btn btn-primary" onClick={() => setCreating(true)}>
            New token
          </button>
        </div>
      </header>
      <Show when={created()}>
        {(c) => (
          <Banner kind="success" onClose={() => setCreated(null)}>
            <div data-testid="created-token">
              Token “{c().name}” created. Copy it now: it is shown only this once (only its hash is stored).
              <input class="input mono token-once" readonly value={c().token} aria-label="The new token" onFocus={(e) => e.currentTarget.select()} />
            </div>
          </Banner>
        )}
      </Show>
      <Show when={notice()}>
        <Banner kind="info" onClose={() => setNotice(null)}>
          <span data-testid="admin-notice">{notice()}</span>
        </Banner>
      </Show>
      <ListView
        connection={query.data ? { nodes: tokens() } : undefined}
        error={query.error}
        fetching={query.fetching}
        loadingLabel="Loading API tokens…"
        empty={<Empty title="No API tokens">Create one for an integration, a script or a user without a password.</Empty>}
        onRetry={reload}
      >
        {(c) => (
          <div class="table-scroll">
            <table class="table" data-testid="tokens-table">
              <thead>
                <tr>
                  <th>Token</th>
                  <th>Owner</th>
                  <th>Permissions</th>
                  <th>Expires</th>
                  <th>Last used</th>
                  <th>Created</th>
                  <th class="actions">Actions</th>
                </tr>
              </thead>
              <tbody>
                <For each={c().nodes}>
                  {(t) => (
                    <tr data-testid="token-row" data-token={t.name} classList={{ departed: !t.active }}>
                      <td class="link-strong">{t.name}</td>
                      <td>{t.owner.username}</td>
                      <td class="wrap-cell">{t.permissions ? t.permissions.join(', ') : 'All of the owner’s'}</td>
                      <td class="nowrap">{expiry(t)}</td>
                      <td class="nowrap">{t.lastUsedAt ? times.format(t.lastUsedAt) : 'Never'}</td>
                      <td class="nowrap">{times.format(t.createdAt)}</td>
                      <td class="actions">
                        <Show when={t.active} fallback={<span class="muted">Inactive</span>}>
                          <button type="button" class="btn btn-small btn-danger-outline" onClick={() => setRevoking(t)}>
                            Revoke
                          </button>
                        </Show>
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        )}
      </ListView>
      <Show when={creating()}>
        <TokenDialog
          users={query.data?.users ?? []}
          onClose={() => setCreating(false)}
          onCreated={(c) => {
            setCreating(false);
            setCreated(c);
            reload();
          }}
        />
      </Show>
      <ConfirmDialog
        open={revoking() !== null}
        title="Revoke token"
        confirmLabel="Revoke"
        danger
        onConfirm={() => void revoke(revoking()!)}
        onClose={() => setRevoking(null)}
      >
        <p>
          Revoke “{revoking()?.name}” of {revoking()?.owner.username}? Whatever uses it stops working at once, and the sessions and live connections opened with
          it end.
        </p>
      </ConfirmDialog>
    </section>
  );
}

function TokenDialog(props: { users: readonly UserNode[]; onClose: () => void; onCreated: (c: { name: string; token: string }) => void }) {
  const session = useSession();
  const times = useTimes();
  const me = () => session.me();
  const [userId, setUserId] = createSignal(me()?.user.id ?? props.users[0]?.id ?? '');
  const [name, setName] = createSignal('');
  const [expiresAt, setExpiresAt] = createSignal('');
  const owner = () => props.users.find((u) => u.id === userId());
  /** A token carries at most what its owner has and what you act with now (docs/security.md). */
  const allowed = (): Permission[] => PERMISSIONS.filter((p) => (owner()?.permissions ?? []).includes(p) && session.can(p));
  const [permissions, setPermissions] = createSignal<Permission[]>([]);
  const [errors, setErrors] = createSignal<FieldErrors>({});
  const [busy, setBusy] = createSignal(false);
  let form: HTMLDivElement | undefined;
  const create = async () => {
    const checked: FieldErrors = {};
    const chosen = permissions().filter((p) => allowed().includes(p));
    if (!name().trim()) checked.name = 'Say what the token is for.';
    if (chosen.length === 0) checked.permissions = 'Choose at least one permission.';
    const expiry = expiresAt() ? fromZonedInput(expiresAt(), times.zone()) : null;
    if (expiresAt() && (!expiry || Date.parse(expiry) <= Date.now())) checked.expiresAt = 'The expiry must be in the future.';
    setErrors(checked);
    if (Object.keys(checked).length) return focusFirstError(form);
    setBusy(true);
    const r = await client
      .mutation(CreateTokenMutation, { input: { name: name().trim(), permissions: chosen, expiresAt: expiry, userId: userId() } })
      .toPromise();
    setBusy(false);
    const outcome = outcomeOf(r.error, r.data?.createApiToken);
    if (!outcome.ok) {
      const mapped = fieldErrorsOf(outcome.problem, (path) => (['name', 'permissions', 'expiresAt'].includes(path[0]) ? path[0] : null));
      setErrors({ ...mapped.fields, ...(mapped.general.length ? { form: mapped.general.join(' ') } : {}) });
      return focusFirstError(form);
    }
    props.onCreated({ name: outcome.data.apiToken.name, token: outcome.data.token });
  };
  return (
    <Dialog
      open
      wide
      title="New API token"
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
          <button type="button" class="btn btn-primary" disabled={busy()} onClick={() => void create()}>
            {busy() ? 'Creating…' : 'Create token'}
          </button>
        </>
      }
    >
      <div data-testid="token-form" ref={form}>
        <div class="form-grid">
          <Field label="For whom" name="owner" errors={errors()}>
            <select class="input" name="owner" value={userId()} onChange={(e) => setUserId(e.currentTarget.value)}>
              <For each={props.users.filter((u) => !u.disabled)}>
                {(u) => (
                  <option value={u.id} selected={u.id === userId()}>
                    {u.displayName} ({u.username})
                  </option>
                )}
              </For>
            </select>
          </Field>
          <Field label="Name" name="name" errors={errors()} hint="What it is for, e.g. “CI deploys”">
            <input class="input" name="name" value={name()} onInput={(e) => setName(e.currentTarget.value)} {...invalidProps(errors(), 'name')} />
          </Field>
          <Field label={`Expires (${times.label()})`} name="expiresAt" errors={errors()} hint="Empty: never (until revoked)">
            <input
              class="input"
              type="datetime-local"
              name="expiresAt"
              value={expiresAt()}
              onInput={(e) => setExpiresAt(e.currentTarget.value)}
              {...invalidProps(errors(), 'expiresAt')}
            />
          </Field>
        </div>
        <PermissionChecklist
          name="token-permissions"
          selected={permissions()}
          onChange={setPermissions}
          allowed={allowed()}
          invalid={!!errors().permissions}
          describedBy={errors().permissions ? 'permissions-error' : undefined}
        />
        <FieldError errors={errors()} name="permissions" />
      </div>
    </Dialog>
  );
}
