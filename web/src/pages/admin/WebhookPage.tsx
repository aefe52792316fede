/**
 * One webhook endpoint and its delivery log (WEBHOOK_ADMIN or OU_ADMIN): every delivery with its
 * status, attempts, the receiver's answer and latency, newest first, filterable by status and event;
 * a delivery's attempts and signed body on demand; redeliver one, or replay every event since a time.
 */
import { A, useParams } from '@solidjs/router';
import { createQuery } from '@urql/solid';
import { createSignal, For, Match, Show, Switch } from 'solid-js';
import { client } from '../../api/client';
import { readFragment, type ResultOf } from '../../api/graphql';
import { outcomeOf, problemOfError } from '../../api/outcome';
import { Dialog } from '../../components/Dialog';
import { Field, fieldErrorsOf, focusFirstError, invalidProps, type FieldErrors } from '../../components/Form';
import { Banner, Empty, Loading, ProblemView } from '../../components/States';
import { fromZonedInput, toZonedInput, useTimes } from '../../times';
import {
  RedeliverWebhookMutation,
  ReplayWebhookEventsMutation,
  WebhookDeliveryDetailsQuery,
  WebhookDeliveryFields,
  WebhookEndpointFields,
  WebhookEndpointQuery,
} from './webhook-documents';
import { EndpointStatusBadge, endpointProblem, type Endpoint, useRefresh } from './WebhooksPage';

type Delivery = ResultOf<typeof WebhookDeliveryFields>;
type Status = 'PENDING' | 'SUCCEEDED' | 'FAILED';

const PAGE = 25;
const DELIVERY_TONES = { PENDING: 'info', SUCCEEDED: 'success', FAILED: 'danger' } as const;
const DELIVERY_LABELS = { PENDING: 'Pending', SUCCEEDED: 'Delivered', FAILED: 'Failed' } as const;
const TRIGGER_LABELS = { EVENT: 'Event', REDELIVERY: 'Redelivery', REPLAY: 'Replay', TEST: 'Test' } as const;

export function WebhookPage() {
  const params = useParams<{ id: string }>();
  const times = useTimes();
  const [status, setStatus] = createSignal<Status | ''>('');
  const [eventType, setEventType] = createSignal('');
  const [first, setFirst] = createSignal(PAGE);
  const [open, setOpen] = createSignal<string | null>(null);
  const [replaying, setReplaying] = createSignal(false);
  const [notice, setNotice] = createSignal<{ kind: 'success' | 'error'; text: string } | null>(null);
  const [query, refetch] = createQuery({
    query: WebhookEndpointQuery,
    variables: () => ({ id: decodeURIComponent(params.id), status: status() || null, eventType: eventType() || null, first: first() }),
    requestPolicy: 'network-only',
  });
  const reload = () => refetch({ requestPolicy: 'network-only' });
  useRefresh(reload);
  const node = () => query.data?.node;
  const endpoint = (): Endpoint | null => {
    const n = node();
    return n && 'deliveries' in n ? readFragment(WebhookEndpointFields, n) : null;
  };
  const deliveries = () => {
    const n = node();
    return n && 'deliveries' in n ? n.deliveries : null;
  };
  const redeliver = async (d: Delivery) => {
    const r = await client.mutation(RedeliverWebhookMutation, { id: d.id }).toPromise();
    const outcome = outcomeOf(r.error, r.data?.redeliverWebhook);
    setNotice(
      outcome.ok
        ? { kind: 'success', text: `The ${d.eventType} event is queued again, as a new delivery with the same webhook-id.` }
        : { kind: 'error', text: outcome.problem.message },
    );
    reload();
  };

  return (
    <section class="page">
      <Switch>
        <Match when={query.error && !query.data}>
          <ProblemView problem={problemOfError(query.error!)} onRetry={reload} />
        </Match>
        <Match when={!query.data}>
          <Loading label="Loading the endpoint…" />
        </Match>
        <Match when={!endpoint()}>
          <Empty title="No such webhook endpoint">
            It may have been deleted. <A href="/admin/webhooks">All webhook endpoints</A>
          </Empty>
        </Match>
        <Match when={endpoint()}>
          {(e) => (
            <>
              <header class="page-header">
                <div class="min-w-0">
                  <div class="breadcrumb">
                    <A href="/admin/webhooks">Webhooks</A>
                  </div>
                  <h1 data-testid="webhook-name">{e().name}</h1>
                  <div class="mono muted break-all">{e().url}</div>
                </div>
                <div class="page-actions">
                  <button type="button" class="btn" onClick={() => setReplaying(true)}>
                    Replay events…
                  </button>
                </div>
              </header>
              <div class="webhook-summary card">
                <div>
                  <div class="field-label">Status</div>
                  <EndpointStatusBadge endpoint={e()} />
                </div>
                <div>
                  <div class="field-label">Pending</div>
                  <span data-testid="pending-deliveries">{e().pendingDeliveries}</span>
                </div>
                <div>
                  <div class="field-label">Last success</div>
                  {e().lastSuccessAt ? times.format(e().lastSuccessAt!) : 'Never'}
                </div>
                <div>
                  <div class="field-label">Last failure</div>
                  {e().lastFailureAt ? times.format(e().lastFailureAt!) : 'Never'}
                </div>
                <div class="webhook-summary-wide">
                  <div class="field-label">Events</div>
                  <span class="small">{e().eventTypes.join(', ')}</span>
                  <Show when={e().product || e().job}>
                    <div class="muted small">Only {e().job ? `job “${e().job!.name}”` : `product ${e().product!.name}`}</div>
                  </Show>
                </div>
                <Show when={e().previousSecretExpiresAt}>
                  <div class="webhook-summary-wide small">The previous secret signs too until {times.format(e().previousSecretExpiresAt!)}.</div>
                </Show>
              </div>
              <Show when={endpointProblem(e(), times.format)}>
                {(p) => (
                  <Banner kind={e().status === 'DISABLED' && !e().disabledReason ? 'info' : 'warning'}>
                    <span data-testid="endpoint-problem">{p()}</span>
                  </Banner>
                )}
              </Show>
              <Show when={notice()}>
                {(n) => (
                  <Banner kind={n().kind} onClose={() => setNotice(null)}>
                    <span data-testid="admin-notice">{n().text}</span>
                  </Banner>
                )}
              </Show>
              <div class="toolbar">
                <h2 class="section-title">Delivery log</h2>
                <select
                  class="input"
                  aria-label="Status"
                  data-testid="delivery-status-filter"
                  value={status()}
                  onChange={(ev) => {
                    setStatus(ev.currentTarget.value as Status | '');
                    setFirst(PAGE);
                  }}
                >
                  <option value="">Every status</option>
                  <option value="PENDING">Pending</option>
                  <option value="SUCCEEDED">Delivered</option>
                  <option value="FAILED">Failed</option>
                </select>
                <select
                  class="input"
                  aria-label="Event"
                  value={eventType()}
                  onChange={(ev) => {
                    setEventType(ev.currentTarget.value);
                    setFirst(PAGE);
                  }}
                >
                  <option value="">Every event</option>
                  <For each={[...(query.data?.webhookEventTypes ?? []).map((t) => t.name), 'webhook.test']}>
                    {(name) => (
                      <option value={name} selected={name === eventType()}>
                        {name}
                      </option>
                    )}
                  </For>
                </select>
                <span class="muted small" data-testid="delivery-count">
                  {deliveries()?.totalCount ?? 0} {deliveries()?.totalCount === 1 ? 'delivery' : 'deliveries'}
                </span>
              </div>
              <Show
                when={(deliveries()?.nodes.length ?? 0) > 0}
                fallback={
                  <Empty title="No deliveries">{status() || eventType() ? 'None matches these filters.' : 'Nothing was sent to this endpoint yet.'}</Empty>
                }
              >
                <div class="card" classList={{ stale: query.fetching }}>
                  <div class="table-scroll">
                    <table class="table table-stack" data-testid="deliveries-table">
                      <thead>
                        <tr>
                          <th>Event</th>
                          <th>Status</th>
                          <th class="num">Attempts</th>
                          <th>Answer</th>
                          <th>Happened</th>
                          <th>Delivered / next try</th>
                          <th class="actions">Actions</th>
                        </tr>
                      </thead>
                      <tbody>
                        <For each={deliveries()!.nodes.map((d) => readFragment(WebhookDeliveryFields, d))}>
                          {(d) => (
                            <>
                              <tr data-testid="delivery-row" data-status={d.status} data-event={d.eventType}>
                                <td>
                                  <code>{d.eventType}</code>
                                  <Show when={d.trigger !== 'EVENT'}>
                                    <span class="badge badge-muted trigger-badge">{TRIGGER_LABELS[d.trigger]}</span>
                                  </Show>
                                </td>
                                <td>
                                  <span class={`badge badge-${DELIVERY_TONES[d.status]}`}>{DELIVERY_LABELS[d.status]}</span>
                                </td>
                                <td class="num" data-label="Attempts">
                                  {d.attempts}
                                </td>
                                <td class="wrap-cell small" data-label="Answer">
                                  <Show when={d.attempts > 0} fallback={<span class="muted">Not tried yet</span>}>
                                    {d.responseStatus ? `HTTP ${d.responseStatus}` : 'No answer'}
                                    {d.latencyMs !== null ? ` · ${d.latencyMs} ms` : ''}
                                    <Show when={d.error && d.status !== 'SUCCEEDED'}>
                                      <div class="muted">{d.error}</div>
                                    </Show>
                                  </Show>
                                </td>
                                <td class="nowrap" data-label="Happened">
                                  {times.format(d.occurredAt)}
                                </td>
                                <td class="nowrap" data-label={d.deliveredAt ? 'Delivered' : 'Next try'}>
                                  {d.deliveredAt ? times.format(d.deliveredAt) : d.nextAttemptAt ? times.format(d.nextAttemptAt) : '—'}
                                </td>
                                <td class="actions">
                                  <div class="row-actions">
                                    <button
                                      type="button"
                                      class="btn btn-small"
                                      aria-expanded={open() === d.id}
                                      onClick={() => setOpen(open() === d.id ? null : d.id)}
                                    >
                                      {open() === d.id ? 'Hide' : 'Details'}
                                    </button>
                                    <button type="button" class="btn btn-small" onClick={() => void redeliver(d)}>
                                      Redeliver
                                    </button>
                                  </div>
                                </td>
                              </tr>
                              <Show when={open() === d.id}>
                                <tr class="delivery-details-row">
                                  <td colSpan={7}>
                                    <DeliveryDetails delivery={d} />
                                  </td>
                                </tr>
                              </Show>
                            </>
                          )}
                        </For>
                      </tbody>
                    </table>
                  </div>
                </div>
                <Show when={deliveries()!.hasNextPage}>
                  <div class="load-more">
                    <button type="button" class="btn" disabled={first() >= 500} onClick={() => setFirst(Math.min(first() + PAGE, 500))}>
                      Show {PAGE} more
                    </button>
                  </div>
                </Show>
              </Show>
              <Show when={replaying()}>
                <ReplayDialog
                  endpoint={e()}
                  onClose={() => setReplaying(false)}
                  onReplayed={(n) => {
                    setReplaying(false);
                    setNotice({ kind: 'success', text: `${n} events queued again, in the order they happened.` });
                    reload();
                  }}
                />
              </Show>
            </>
          )}
        </Match>
      </Switch>
    </section>
  );
}

function DeliveryDetails(props: { delivery: Delivery }) {
  const times = useTimes();
  const [details] = createQuery({ query: WebhookDeliveryDetailsQuery, variables: () => ({ id: props.delivery.id }), requestPolicy: 'network-only' });
  const node = () => {
    const n = details.data?.node;
    return n && 'payload' in n ? n : null;
  };
  return (
    <div class="delivery-details" data-testid="delivery-details">
      <div class="small">
        <span class="field-label">webhook-id</span> <code>{props.delivery.messageId}</code> · queued {times.format(props.delivery.createdAt)}
      </div>
      <Show when={node()} fallback={<Loading label="Loading the attempts…" />}>
        {(n) => (
          <>
            <Show when={n().attemptLog.length > 0} fallback={<p class="muted small">No attempt yet.</p>}>
              <table class="table table-compact" data-testid="attempt-log">
                <thead>
                  <tr>
                    <th>Attempt</th>
                    <th>Answer</th>
                    <th class="num">Latency</th>
                    <th>Error or body</th>
                  </tr>
                </thead>
                <tbody>
                  <For each={n().attemptLog}>
                    {(a) => (
                      <tr>
                        <td class="nowrap">{times.format(a.attemptedAt)}</td>
                        <td>{a.responseStatus ? `HTTP ${a.responseStatus}` : 'No answer'}</td>
                        <td class="num">{a.latencyMs} ms</td>
                        <td class="wrap-cell mono-list">{a.error ?? a.responseBody ?? ''}</td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </Show>
            <div class="field-label">Body (signed as it is)</div>
            <pre class="payload" data-testid="delivery-payload">
              {prettyJson(n().payload)}
            </pre>
          </>
        )}
      </Show>
    </div>
  );
}

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function ReplayDialog(props: { endpoint: Endpoint; onClose: () => void; onReplayed: (queued: number) => void }) {
  const times = useTimes();
  const [since, setSince] = createSignal(toZonedInput(props.endpoint.lastSuccessAt ?? new Date(Date.now() - 3600_000).toISOString(), times.zone()));
  const [errors, setErrors] = createSignal<FieldErrors>({});
  const [busy, setBusy] = createSignal(false);
  let form: HTMLDivElement | undefined;
  const replay = async () => {
    const at = since() ? fromZonedInput(since(), times.zone()) : null;
    if (!at || Date.parse(at) > Date.now()) {
      setErrors({ since: 'A time in the past.' });
      return focusFirstError(form);
    }
    setErrors({});
    setBusy(true);
    const r = await client.mutation(ReplayWebhookEventsMutation, { input: { endpointId: props.endpoint.id, since: at } }).toPromise();
    setBusy(false);
    const outcome = outcomeOf(r.error, r.data?.replayWebhookEvents);
    if (!outcome.ok) {
      const mapped = fieldErrorsOf(outcome.problem, (path) => (path[0] === 'since' ? 'since' : null));
      setErrors({ ...mapped.fields, ...(mapped.general.length ? { form: mapped.general.join(' ') } : {}) });
      return focusFirstError(form);
    }
    props.onReplayed(outcome.data.deliveriesQueued);
  };
  return (
    <Dialog
      open
      title="Replay events"
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
          <button type="button" class="btn btn-primary" disabled={busy()} onClick={() => void replay()}>
            {busy() ? 'Queuing…' : 'Replay'}
          </button>
        </>
      }
    >
      <div data-testid="replay-form" ref={form}>
        <p>
          Every event since this time that “{props.endpoint.name}” subscribes to is queued again, in the order it happened, with its original webhook-id (a
          receiver that deduplicates ignores what it already has). Events are kept 30 days.
        </p>
        <Field label={`Since (${times.label()})`} name="since" errors={errors()}>
          <input
            class="input"
            type="datetime-local"
            name="since"
            value={since()}
            onInput={(ev) => setSince(ev.currentTarget.value)}
            {...invalidProps(errors(), 'since')}
          />
        </Field>
      </div>
    </Dialog>
  );
}
