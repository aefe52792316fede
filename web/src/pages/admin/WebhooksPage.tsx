/**
 * Webhook endpoints (WEBHOOK_ADMIN or OU_ADMIN): where the unit's events are sent, signed with the
 * Standard Webhooks scheme. Create one (its signing secret is shown once, then only stored
 * encrypted), edit its URL, events and filters, disable and enable it, rotate its secret (both
 * secrets sign during the overlap), send a test event, delete it. Each endpoint's delivery log is
 * on its own page (WebhookPage).
 */
import { A } from '@solidjs/router';
import { createQuery } from '@urql/solid';
import { createMemo, createSignal, For, onCleanup, Show } from 'solid-js';
import { client } from '../../api/client';
import { readFragment, type ResultOf } from '../../api/graphql';
import { outcomeOf } from '../../api/outcome';
import { ConfirmDialog, Dialog } from '../../components/Dialog';
import { checkWholeNumber, Field, FieldError, fieldErrorsOf, focusFirstError, invalidProps, type FieldErrors } from '../../components/Form';
import { ListView } from '../../components/ListView';
import { Banner, Empty } from '../../components/States';
import { useSession } from '../../session';
import { useTimes } from '../../times';
import {
  CreateWebhookMutation,
  DeleteWebhookMutation,
  RotateWebhookSecretMutation,
  SendTestWebhookMutation,
  UpdateWebhookMutation,
  WebhookEndpointFields,
  WebhookEndpointsQuery,
  WebhookJobsQuery,
  WebhookProductsQuery,
} from './webhook-documents';

export type Endpoint = ResultOf<typeof WebhookEndpointFields>;
export type EventType = { name: string; description: string };

/** How often the pages ask again: pending counts and statuses move while deliveries go out. */
export const WEBHOOK_REFRESH_MS = 5_000;

const STATUS_TONES = { ACTIVE: 'success', FAILING: 'warning', DISABLED: 'muted' } as const;
const STATUS_LABELS = { ACTIVE: 'Active', FAILING: 'Failing', DISABLED: 'Disabled' } as const;

export function EndpointStatusBadge(props: { endpoint: Endpoint }) {
  const tone = () => (props.endpoint.status === 'DISABLED' && props.endpoint.disabledReason ? 'danger' : STATUS_TONES[props.endpoint.status]);
  return (
    <span class={`badge badge-${tone()}`} data-testid="endpoint-status" data-status={props.endpoint.status}>
      {STATUS_LABELS[props.endpoint.status]}
    </span>
  );
}

/** What the endpoint's state means for the deliveries, in one sentence (null when all is well). */
export function endpointProblem(e: Endpoint, format: (iso: string) => string): string | null {
  if (e.status === 'DISABLED')
    return e.disabledReason
      ? `Disabled by the server: ${e.disabledReason} Enable it to send what is pending.`
      : 'Disabled: nothing is sent until it is enabled.';
  if (e.status === 'FAILING') {
    const since = e.failingSince ? ` since ${format(e.failingSince)}` : '';
    const paused = e.pausedUntil && Date.parse(e.pausedUntil) > Date.now() ? `; next try after ${format(e.pausedUntil)}` : '';
    return `${e.consecutiveFailures} failed attempts in a row${since}${paused}. Deliveries are retried with backoff for up to 24 h.`;
  }
  return null;
}

export function useRefresh(refetch: () => void) {
  const timer = setInterval(() => document.visibilityState === 'visible' && refetch(), WEBHOOK_REFRESH_MS);
  onCleanup(() => clearInterval(timer));
}

/** The secret of a new endpoint or a rotation: shown once, with how to use it. */
export function SecretOnce(props: { title: string; secret: string; onClose: () => void }) {
  return (
    <Banner kind="success" onClose={props.onClose}>
      <div data-testid="webhook-secret">
        {props.title} Copy the signing secret now: it is shown only this once (it is stored encrypted and never shown again). Your receiver verifies each
        delivery's <code>webhook-signature</code> with it (docs/integrations.md).
        <input class="input mono token-once" readonly value={props.secret} aria-label="The signing secret" onFocus={(e) => e.currentTarget.select()} />
      </div>
    </Banner>
  );
}

export function WebhooksPage() {
  const [query, refetch] = createQuery({ query: WebhookEndpointsQuery, variables: {}, requestPolicy: 'network-only' });
  const reload = () => refetch({ requestPolicy: 'network-only' });
  useRefresh(reload);
  const times = useTimes();
  const [editing, setEditing] = createSignal<Endpoint | 'new' | null>(null);
  const [rotating, setRotating] = createSignal<Endpoint | null>(null);
  const [deleting, setDeleting] = createSignal<Endpoint | null>(null);
  const [secret, setSecret] = createSignal<{ title: string; secret: string } | null>(null);
  const [notice, setNotice] = createSignal<{ kind: 'success' | 'error'; text: string } | null>(null);
  const endpoints = createMemo(() => (query.data?.webhookEndpoints ?? []).map((e) => readFragment(WebhookEndpointFields, e)));

  const setEnabled = async (e: Endpoint, enabled: boolean) => {
    const r = await client.mutation(UpdateWebhookMutation, { input: { id: e.id, enabled } }).toPromise();
    const outcome = outcomeOf(r.error, r.data?.updateWebhookEndpoint);
    setNotice(
      outcome.ok
        ? {
            kind: 'success',
            text: enabled ? `“${e.name}” enabled: what is pending goes out now.` : `“${e.name}” disabled: events are kept for it, nothing is sent.`,
          }
        : { kind: 'error', text: outcome.problem.message },
    );
    reload();
  };
  const sendTest = async (e: Endpoint) => {
    const r = await client.mutation(SendTestWebhookMutation, { id: e.id }).toPromise();
    const outcome = outcomeOf(r.error, r.data?.sendTestWebhook);
    setNotice(
      outcome.ok
        ? { kind: 'success', text: `A “webhook.test” event is on its way to “${e.name}”: its delivery log shows the answer.` }
        : { kind: 'error', text: outcome.problem.message },
    );
    reload();
  };
  const remove = async (e: Endpoint) => {
    const r = await client.mutation(DeleteWebhookMutation, { id: e.id }).toPromise();
    setDeleting(null);
    const outcome = outcomeOf(r.error, r.data?.deleteWebhookEndpoint);
    setNotice(outcome.ok ? { kind: 'success', text: `“${e.name}” deleted, with its delivery log.` } : { kind: 'error', text: outcome.problem.message });
    reload();
  };

  return (
    <section class="page">
      <header class="page-header">
        <div>
          <div class="breadcrumb">Administration</div>
          <h1>Webhooks</h1>
        </div>
        <div class="page-actions">
          <button type="button" class="btn btn-primary" onClick={() => setEditing('new')}>
            New endpoint
          </button>
        </div>
      </header>
      <p class="page-intro muted">
        Events of your unit's jobs, devices and firmware are sent to these URLs as signed HTTP POSTs (Standard Webhooks), at least once and in order per job; a
        receiver that is down gets them when it is back.
      </p>
      <Show when={secret()}>{(s) => <SecretOnce title={s().title} secret={s().secret} onClose={() => setSecret(null)} />}</Show>
      <Show when={notice()}>
        {(n) => (
          <Banner kind={n().kind} onClose={() => setNotice(null)}>
            <span data-testid="admin-notice">{n().text}</span>
          </Banner>
        )}
      </Show>
      <ListView
        connection={query.data ? { nodes: endpoints() } : undefined}
        error={query.error}
        fetching={query.fetching}
        loadingLabel="Loading webhook endpoints…"
        empty={
          <Empty title="No webhook endpoints">
            Add one to have a ticketing system, a chat channel or a data lake told about job and device changes instead of polling.
          </Empty>
        }
        onRetry={reload}
      >
        {(c) => (
          <div class="table-scroll">
            <table class="table table-stack" data-testid="webhooks-table">
              <thead>
                <tr>
                  <th>Endpoint</th>
                  <th>Events</th>
                  <th>Status</th>
                  <th class="num">Pending</th>
                  <th>Last success</th>
                  <th class="actions">Actions</th>
                </tr>
              </thead>
              <tbody>
                <For each={c().nodes}>
                  {(e) => (
                    <tr data-testid="webhook-row" data-endpoint={e.name} classList={{ departed: !e.enabled }}>
                      <td class="wrap-cell endpoint-cell">
                        <A href={`/admin/webhooks/${encodeURIComponent(e.id)}`} class="link-strong">
                          {e.name}
                        </A>
                        <div class="mono muted small break-all">{e.url}</div>
                        <Show when={e.product || e.job}>
                          <div class="muted small">Only {e.job ? `job “${e.job.name}”` : `product ${e.product!.name}`}</div>
                        </Show>
                      </td>
                      <td class="wrap-cell small" data-label="Events">
                        {e.eventTypes.join(', ')}
                      </td>
                      <td>
                        <EndpointStatusBadge endpoint={e} />
                        <Show when={endpointProblem(e, times.format)}>{(p) => <div class="muted small">{p()}</div>}</Show>
                      </td>
                      <td class="num" data-label="Pending">
                        {e.pendingDeliveries}
                      </td>
                      <td class="nowrap" data-label="Last success">
                        {e.lastSuccessAt ? times.format(e.lastSuccessAt) : 'Never'}
                      </td>
                      <td class="actions">
                        <div class="row-actions">
                          <button type="button" class="btn btn-small" onClick={() => setEditing(e)}>
                            Edit
                          </button>
                          <button type="button" class="btn btn-small" onClick={() => void setEnabled(e, !e.enabled)}>
                            {e.enabled ? 'Disable' : 'Enable'}
                          </button>
                          <button type="button" class="btn btn-small" onClick={() => setRotating(e)}>
                            Rotate secret
                          </button>
                          <button type="button" class="btn btn-small" disabled={!e.enabled} onClick={() => void sendTest(e)}>
                            Send test
                          </button>
                          <button type="button" class="btn btn-small btn-danger-outline" onClick={() => setDeleting(e)}>
                            Delete
                          </button>
                        </div>
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
        {(target) => (
          <EndpointDialog
            endpoint={target() === 'new' ? null : (target() as Endpoint)}
            eventTypes={query.data?.webhookEventTypes ?? []}
            onClose={() => setEditing(null)}
            onSaved={(result) => {
              setEditing(null);
              if (result.secret) setSecret({ title: `Endpoint “${result.name}” created.`, secret: result.secret });
              else setNotice({ kind: 'success', text: `“${result.name}” saved.` });
              reload();
            }}
          />
        )}
      </Show>
      <Show when={rotating()}>
        {(e) => (
          <RotateDialog
            endpoint={e()}
            onClose={() => setRotating(null)}
            onRotated={(s, until) => {
              const name = e().name;
              setRotating(null);
              setSecret({
                title: `New secret for “${name}”.${until ? ` The previous secret signs too until ${times.format(until)}: switch your receiver before then.` : ' The previous secret no longer signs.'}`,
                secret: s,
              });
              reload();
            }}
          />
        )}
      </Show>
      <ConfirmDialog
        open={deleting() !== null}
        title="Delete endpoint"
        confirmLabel="Delete"
        danger
        onConfirm={() => void remove(deleting()!)}
        onClose={() => setDeleting(null)}
      >
        <p>
          Delete “{deleting()?.name}” and its delivery log? Its {deleting()?.pendingDeliveries ?? 0} pending deliveries are dropped. To stop sending for a while
          instead, disable it.
        </p>
      </ConfirmDialog>
    </section>
  );
}

function EndpointDialog(props: {
  endpoint: Endpoint | null;
  eventTypes: readonly EventType[];
  onClose: () => void;
  onSaved: (result: { name: string; secret: string | null }) => void;
}) {
  const session = useSession();
  const e = props.endpoint;
  const [name, setName] = createSignal(e?.name ?? '');
  const [url, setUrl] = createSignal(e?.url ?? '');
  const [types, setTypes] = createSignal<string[]>(e ? [...e.eventTypes] : props.eventTypes.map((t) => t.name));
  const [productId, setProductId] = createSignal(e?.product?.id ?? '');
  const [jobId, setJobId] = createSignal(e?.job?.id ?? '');
  const [errors, setErrors] = createSignal<FieldErrors>({});
  const [busy, setBusy] = createSignal(false);
  const canReadProducts = () => session.can('OTA_READ') || session.can('DEVICE_READ') || session.can('FIRMWARE_READ');
  const [products] = createQuery({ query: WebhookProductsQuery, variables: {}, pause: () => !canReadProducts() });
  const productKey = () => products.data?.products.find((p) => p.id === productId())?.productKey;
  const [jobs] = createQuery({
    query: WebhookJobsQuery,
    variables: () => ({ productKey: productKey() }),
    pause: () => !session.can('OTA_READ') || !productKey(),
  });
  let form: HTMLDivElement | undefined;
  const toggle = (name: string, on: boolean) => setTypes(props.eventTypes.map((t) => t.name).filter((n) => (n === name ? on : types().includes(n))));
  const save = async () => {
    const checked: FieldErrors = {};
    if (!name().trim()) checked.name = 'Say where the events go, e.g. “Ticketing”.';
    if (!/^https?:\/\/\S+$/i.test(url().trim())) checked.url = 'An http:// or https:// URL.';
    if (types().length === 0) checked.eventTypes = 'Choose at least one event.';
    setErrors(checked);
    if (Object.keys(checked).length) return focusFirstError(form);
    setBusy(true);
    const fields = { name: name().trim(), url: url().trim(), eventTypes: types(), productId: productId() || null, jobId: (productId() && jobId()) || null };
    const fieldOf = (path: readonly string[]) =>
      path[0] === 'productId' ? 'filter' : ['name', 'url', 'eventTypes', 'jobId'].includes(path[0]) ? path[0] : null;
    let outcome: { ok: true; name: string; secret: string | null } | { ok: false; problem: Parameters<typeof fieldErrorsOf>[0] };
    if (e) {
      const r = await client.mutation(UpdateWebhookMutation, { input: { id: e.id, ...fields } }).toPromise();
      const o = outcomeOf(r.error, r.data?.updateWebhookEndpoint);
      outcome = o.ok ? { ok: true, name: fields.name, secret: null } : o;
    } else {
      const r = await client.mutation(CreateWebhookMutation, { input: fields }).toPromise();
      const o = outcomeOf(r.error, r.data?.createWebhookEndpoint);
      outcome = o.ok ? { ok: true, name: o.data.endpoint.name, secret: o.data.secret } : o;
    }
    setBusy(false);
    if (!outcome.ok) {
      const mapped = fieldErrorsOf(outcome.problem, fieldOf);
      setErrors({ ...mapped.fields, ...(mapped.general.length ? { form: mapped.general.join(' ') } : {}) });
      return focusFirstError(form);
    }
    props.onSaved({ name: outcome.name, secret: outcome.secret });
  };
  return (
    <Dialog
      open
      wide
      title={e ? `Edit “${e.name}”` : 'New webhook endpoint'}
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
            {busy() ? 'Saving…' : e ? 'Save' : 'Create endpoint'}
          </button>
        </>
      }
    >
      <div data-testid="webhook-form" ref={form}>
        <div class="form-grid">
          <Field label="Name" name="name" errors={errors()}>
            <input class="input" name="name" value={name()} onInput={(ev) => setName(ev.currentTarget.value)} {...invalidProps(errors(), 'name')} />
          </Field>
          <Field label="URL" name="url" errors={errors()} hint="Where the events are POSTed; public addresses only unless the server allows the target" wide>
            <input
              class="input mono"
              name="url"
              inputmode="url"
              placeholder="https://example.com/updraft-events"
              value={url()}
              onInput={(ev) => setUrl(ev.currentTarget.value)}
              {...invalidProps(errors(), 'url')}
            />
          </Field>
          <Show when={canReadProducts()}>
            <Field label="Only events of" name="filter" errors={errors()} hint="Empty: every product's">
              <select
                class="input"
                name="productId"
                value={productId()}
                onChange={(ev) => {
                  setProductId(ev.currentTarget.value);
                  setJobId('');
                }}
              >
                <option value="">Every product</option>
                <For each={products.data?.products ?? []}>
                  {(p) => (
                    <option value={p.id} selected={p.id === productId()}>
                      {p.name} ({p.productKey})
                    </option>
                  )}
                </For>
              </select>
            </Field>
            <Show when={productId() && session.can('OTA_READ')}>
              <Field label="Job" name="jobId" errors={errors()} hint="Empty: every job of the product">
                <select class="input" name="jobId" value={jobId()} onChange={(ev) => setJobId(ev.currentTarget.value)}>
                  <option value="">Every job</option>
                  <For each={jobs.data?.jobs.nodes ?? []}>
                    {(j) => (
                      <option value={j.id} selected={j.id === jobId()}>
                        {j.name}
                      </option>
                    )}
                  </For>
                </select>
              </Field>
            </Show>
          </Show>
        </div>
        <fieldset
          class="permission-list"
          aria-invalid={errors().eventTypes ? 'true' : undefined}
          aria-describedby={errors().eventTypes ? 'eventTypes-error' : undefined}
        >
          <legend class="field-label">Events</legend>
          <For each={props.eventTypes}>
            {(t) => (
              <label class="permission-option">
                <input
                  type="checkbox"
                  name="eventTypes"
                  value={t.name}
                  checked={types().includes(t.name)}
                  onChange={(ev) => toggle(t.name, ev.currentTarget.checked)}
                  aria-describedby={`event-${t.name}-meaning`}
                />
                <span>
                  <code class="permission-name">{t.name}</code>
                  <span class="permission-meaning" id={`event-${t.name}-meaning`}>
                    {t.description}
                  </span>
                </span>
              </label>
            )}
          </For>
        </fieldset>
        <FieldError errors={errors()} name="eventTypes" />
      </div>
    </Dialog>
  );
}

function RotateDialog(props: { endpoint: Endpoint; onClose: () => void; onRotated: (secret: string, previousUntil: string | null) => void }) {
  const [overlap, setOverlap] = createSignal('1440');
  const [errors, setErrors] = createSignal<FieldErrors>({});
  const [busy, setBusy] = createSignal(false);
  let form: HTMLDivElement | undefined;
  const rotate = async () => {
    const problem = checkWholeNumber(overlap(), 0, 10080, { unit: 'minutes' });
    setErrors(problem ? { overlapMinutes: problem } : {});
    if (problem) return focusFirstError(form);
    setBusy(true);
    const r = await client.mutation(RotateWebhookSecretMutation, { input: { id: props.endpoint.id, overlapMinutes: Number(overlap()) } }).toPromise();
    setBusy(false);
    const outcome = outcomeOf(r.error, r.data?.rotateWebhookSecret);
    if (!outcome.ok) {
      const mapped = fieldErrorsOf(outcome.problem, (path) => (path.includes('overlapMinutes') ? 'overlapMinutes' : null));
      setErrors({ ...mapped.fields, ...(mapped.general.length ? { form: mapped.general.join(' ') } : {}) });
      return;
    }
    props.onRotated(outcome.data.secret, outcome.data.endpoint.previousSecretExpiresAt ?? null);
  };
  return (
    <Dialog
      open
      title={`Rotate the secret of “${props.endpoint.name}”`}
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
          <button type="button" class="btn btn-primary" disabled={busy()} onClick={() => void rotate()}>
            {busy() ? 'Rotating…' : 'Rotate secret'}
          </button>
        </>
      }
    >
      <div data-testid="rotate-form" ref={form}>
        <p>
          A new signing secret is made and shown once. During the overlap every delivery carries two signatures, one with each secret, so your receiver keeps
          verifying while you switch it to the new secret.
        </p>
        <Field label="Overlap (minutes)" name="overlapMinutes" errors={errors()} hint="0 to 10,080 (7 days); 0 ends the old secret now">
          <input
            class="input"
            name="overlapMinutes"
            inputmode="numeric"
            value={overlap()}
            onInput={(ev) => setOverlap(ev.currentTarget.value)}
            {...invalidProps(errors(), 'overlapMinutes')}
          />
        </Field>
      </div>
    </Dialog>
  );
}
