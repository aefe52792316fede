/**
 * Audit log (OU_ADMIN): every change in the unit, newest first — who, when, what, from where —
 * searchable by words, action and time range. The view lives in the URL, so a link opens the same
 * search. Times are shown and entered in the console's zone (top bar).
 */
import { A } from '@solidjs/router';
import { AUDIT_ACTION_LABELS } from '@updraft/labels';
import { createQuery } from '@urql/solid';
import { createMemo, For, Show } from 'solid-js';
import type { ResultOf } from '../../api/graphql';
import { ListView } from '../../components/ListView';
import { Pager } from '../../components/Pager';
import { SearchInput } from '../../components/SearchInput';
import { Empty } from '../../components/States';
import { fromZonedInput, useTimes } from '../../times';
import { pagerProps, pageVariables, param, useViewParams } from '../../url';
import { AuditEventsQuery } from './documents';

type AuditNode = ResultOf<typeof AuditEventsQuery>['auditEvents']['nodes'][number];

const PAGE_SIZE = 50;

/** Where the thing an entry is about can be seen, when the console has a page for it. */
function targetHref(e: AuditNode): string | null {
  if (!e.targetId) return null;
  if (e.targetType === 'JOB') return `/jobs/${encodeURIComponent(e.targetId)}`;
  if (e.targetType === 'FIRMWARE') return '/firmware';
  if (e.targetType === 'USER') return '/admin/users';
  if (e.targetType === 'ROLE') return '/admin/roles';
  if (e.targetType === 'API_TOKEN') return '/admin/tokens';
  if (e.targetType === 'PRODUCT') return `/devices?product=${encodeURIComponent(e.targetName ?? '')}`;
  return null;
}

function credentialText(e: AuditNode): string {
  if (e.credentialKind === 'API_TOKEN') return `API token “${e.credentialName ?? '?'}”`;
  if (e.credentialKind === 'SESSION') return e.credentialName ?? 'Dashboard session';
  // No request: the server itself (the engine verifying firmware, a seed or first start).
  return e.clientAddress ? 'no credential' : 'on the server, no request';
}

export function AuditPage() {
  const { params, setParams, setFilter } = useViewParams();
  const times = useTimes();
  const since = () => (param(params, 'since') ? fromZonedInput(param(params, 'since')!, times.zone()) : null);
  const until = () => (param(params, 'until') ? fromZonedInput(param(params, 'until')!, times.zone()) : null);
  const rangeProblem = createMemo(() => {
    const s = since();
    const u = until();
    return s && u && s > u ? 'The end of the range is before its start.' : null;
  });
  const [query, refetch] = createQuery({
    query: AuditEventsQuery,
    pause: () => rangeProblem() !== null,
    variables: () => ({
      actions: param(params, 'action') ? [param(params, 'action') as never] : null,
      search: param(params, 'q') ?? null,
      since: since(),
      until: until(),
      ...pageVariables(params, PAGE_SIZE),
    }),
    requestPolicy: 'cache-and-network',
  });
  const connection = () => query.data?.auditEvents;
  return (
    <section class="page">
      <header class="page-header">
        <div>
          <div class="breadcrumb">Administration</div>
          <h1>Audit log</h1>
        </div>
        <div class="page-actions">
          <button type="button" class="btn" onClick={() => refetch({ requestPolicy: 'network-only' })}>
            Refresh
          </button>
        </div>
      </header>
      <p class="page-intro muted">Every change made in this organisation unit: who made it, when, and from which address and credential.</p>
      <search class="toolbar" aria-label="Search the audit log">
        <select class="input" aria-label="Action" value={param(params, 'action') ?? ''} onChange={(e) => setFilter({ action: e.currentTarget.value })}>
          <option value="">All actions</option>
          <For each={Object.entries(AUDIT_ACTION_LABELS)}>{([value, label]) => <option value={value}>{label}</option>}</For>
        </select>
        <SearchInput
          label="Words, user, job, firmware or address"
          placeholder="Search words, user, job, firmware, address"
          testId="audit-search"
          value={param(params, 'q')}
          onSearch={(q) => setFilter({ q })}
        />
        <label class="inline-label">
          <span>From ({times.label()})</span>
          <input
            class="input"
            type="datetime-local"
            step="1"
            name="since"
            value={param(params, 'since') ?? ''}
            onChange={(e) => setFilter({ since: e.currentTarget.value })}
          />
        </label>
        <label class="inline-label">
          <span>To ({times.label()})</span>
          <input
            class="input"
            type="datetime-local"
            step="1"
            name="until"
            value={param(params, 'until') ?? ''}
            aria-invalid={rangeProblem() ? 'true' : undefined}
            aria-describedby={rangeProblem() ? 'audit-range-problem' : undefined}
            onChange={(e) => setFilter({ until: e.currentTarget.value })}
          />
        </label>
      </search>
      <Show when={rangeProblem()}>
        <p class="field-error" id="audit-range-problem" role="alert">
          {rangeProblem()}
        </p>
      </Show>
      <Show when={!rangeProblem()}>
        <ListView
          connection={connection()}
          error={query.error}
          fetching={query.fetching}
          loadingLabel="Loading the audit log…"
          empty={<Empty title="Nothing recorded matches">Change or clear the search and filters.</Empty>}
          onRetry={() => refetch({ requestPolicy: 'network-only' })}
        >
          {(c) => (
            <>
              <div class="table-scroll">
                <table class="table table-dense" data-testid="audit-table">
                  <thead>
                    <tr>
                      <th>Time ({times.label()})</th>
                      <th>Who</th>
                      <th>Action</th>
                      <th>What</th>
                      <th>From where</th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={c().nodes}>
                      {(e) => (
                        <tr data-testid="audit-row" data-action={e.action}>
                          <td class="nowrap">{times.format(e.at)}</td>
                          <td>{e.actorName}</td>
                          <td class="nowrap">{e.actionText}</td>
                          <td>
                            <Show when={e.targetName}>
                              <div>
                                <Show when={targetHref(e)} fallback={<strong>{e.targetName}</strong>}>
                                  {(href) => (
                                    <A href={href()} class="link-strong">
                                      {e.targetName}
                                    </A>
                                  )}
                                </Show>
                              </div>
                            </Show>
                            <div class="sub">{e.summary}</div>
                            <Show when={e.details}>
                              <details class="audit-details">
                                <summary>Details</summary>
                                <pre class="mono">{JSON.stringify(JSON.parse(e.details!), null, 2)}</pre>
                              </details>
                            </Show>
                          </td>
                          <td>
                            <div class="mono">{e.clientAddress ?? '—'}</div>
                            <div class="sub">{credentialText(e)}</div>
                          </td>
                        </tr>
                      )}
                    </For>
                  </tbody>
                </table>
              </div>
              <Pager {...pagerProps(params, setParams, { pageInfo: c().pageInfo, shown: c().nodes.length, total: c().totalCount }, PAGE_SIZE)} />
            </>
          )}
        </ListView>
      </Show>
    </section>
  );
}
