/**
 * Job details (the EnOS "Viewing OTA Job Details" page): header with the job's facts and live
 * progress, the edit button of the job's type, stop / start / cancel, progress over time, failure
 * reasons, and the five tabs with live counts over the device table. Tab, searches and page are in
 * the URL.
 */
import { Tabs } from '@kobalte/core/tabs';
import { A, useParams } from '@solidjs/router';
import { createQuery, createSubscription } from '@urql/solid';
import { createEffect, createMemo, createSignal, For, Match, on, Show, Switch } from 'solid-js';
import { client } from '../../api/client';
import { readFragment, type FragmentOf } from '../../api/graphql';
import { outcomeOf, problemOfError } from '../../api/outcome';
import { JobStatusBadge, JobTypeTag } from '../../components/Badges';
import { ConfirmDialog } from '../../components/Dialog';
import { FailureBreakdown } from '../../components/FailureBreakdown';
import { appendSample, historySamples, ProgressChart, type ProgressSample } from '../../components/ProgressChart';
import { JobProgressBar } from '../../components/ProgressBar';
import { Banner, Loading, ProblemView } from '../../components/States';
import { formatCount } from '../../format';
import { TABS, type JobStatus } from '../../labels';
import type { DeviceView } from '../../live/device-rows';
import { useSession } from '../../session';
import { displayZone, formatDateTime, JobZoneContext } from '../../times';
import { createAnnouncement } from '../../components/Announce';
import { param, useViewParams } from '../../url';
import { JobLiveFields } from '../jobs/documents';
import { DeviceSearch } from './DeviceSearch';
import { DeviceTable } from './DeviceTable';
import {
  CancelJobMutation,
  JobDetailFields,
  JobDetailsQuery,
  JobWaveFields,
  JobDetailsSubscription,
  JobProgressHistoryQuery,
  StartJobMutation,
  StopJobMutation,
} from './documents';
import { JobEditDialog } from './JobEditDialog';
import { JobSettingsSummary } from './JobSettingsSummary';
import { WaveStepper } from './WaveStepper';

const PAGE_SIZES = [50, 100, 200, 500];

export function JobDetailsPage() {
  const routeParams = useParams<{ id: string }>();
  const jobId = () => decodeURIComponent(routeParams.id);
  const session = useSession();
  const { params, setParams, setFilter } = useViewParams();

  const [query, refetch] = createQuery({ query: JobDetailsQuery, variables: () => ({ id: jobId() }), requestPolicy: 'network-only' });
  const [live] = createSubscription({ query: JobDetailsSubscription, variables: () => ({ jobId: jobId() }) });
  const job = createMemo(() => {
    const data = live.data?.jobProgress ?? query.data?.job;
    return data ? readFragment(JobDetailFields, data) : null;
  });
  const jobZone = () => job()?.schedule?.timezone ?? null;
  const times = { format: (iso: string | null | undefined) => formatDateTime(iso, displayZone(jobZone())) };
  const liveFields = () => {
    const j = job();
    return j ? readFragment(JobLiveFields, j as unknown as FragmentOf<typeof JobLiveFields>) : null;
  };
  const waveData = () => {
    const j = job();
    return j ? readFragment(JobWaveFields, j as unknown as FragmentOf<typeof JobWaveFields>) : null;
  };

  // Progress over time: the job's history from the server (the devices' finish times), then one
  // sample per live state.
  const [samples, setSamples] = createSignal<ProgressSample[]>([]);
  createEffect(
    on(jobId, async (id) => {
      setSamples([]);
      const result = await client.query(JobProgressHistoryQuery, { id, points: 120 }, { requestPolicy: 'network-only' }).toPromise();
      const history = result.data?.job;
      if (id !== jobId() || !history) return;
      setSamples((live) => [...historySamples(history.progressHistory, history.deviceCount), ...live]);
    }),
  );
  createEffect(() => {
    const l = liveFields();
    if (!l) return;
    const failedPercent = l.deviceCount ? Math.round((l.statusCounts.failed / l.deviceCount) * 10_000) / 100 : 0;
    setSamples((current) => appendSample(current, { t: Date.now(), progress: l.progress, failedPercent }));
  });

  // ── view state from the URL ───────────────────────────────────────────────────────────────
  const tab = () => TABS.find((t) => t.slug === param(params, 'tab')) ?? TABS[0];
  const pageSize = () => {
    const size = Number(param(params, 'size'));
    return PAGE_SIZES.includes(size) ? size : 100;
  };
  /** The wave filter of the tabs (?wave=N, 0-based), when the job has such a wave. */
  const selectedWave = () => {
    const n = Number(param(params, 'wave'));
    return param(params, 'wave') !== undefined && Number.isInteger(n) && waveData()?.waves.some((w) => w.index === n) ? n : undefined;
  };
  const tabCounts = () => {
    const w = selectedWave();
    const wave = w === undefined ? undefined : waveData()?.waves.find((x) => x.index === w);
    return wave?.statusCounts ?? liveFields()!.statusCounts;
  };
  const view = createMemo<DeviceView>(() => {
    const failed = tab().status === 'FAILED';
    return {
      status: tab().status,
      wave: selectedWave(),
      deviceKey: param(params, 'q'),
      currentVersion: failed ? param(params, 'version') : undefined,
      failureReason: failed ? param(params, 'reason') : undefined,
      failedAfter: failed ? param(params, 'failedAfter') : undefined,
      failedBefore: failed ? param(params, 'failedBefore') : undefined,
    };
  });
  const filtered = () => Object.entries(view()).some(([k, v]) => k !== 'status' && k !== 'wave' && v);
  const paging = createMemo(() => {
    const before = param(params, 'before');
    return before
      ? { first: null, after: null, last: pageSize(), before }
      : { first: pageSize(), after: param(params, 'after') ?? null, last: null, before: null };
  });
  const from = () => Math.max(1, Number(param(params, 'from') ?? 1) || 1);
  const pager = {
    get from() {
      return from();
    },
    onFirst: () => setParams({ after: undefined, before: undefined, from: undefined }),
    onPrevious: (startCursor: string | null) =>
      from() - pageSize() <= 1
        ? setParams({ after: undefined, before: undefined, from: undefined })
        : setParams({ before: startCursor ?? undefined, after: undefined, from: String(from() - pageSize()) }),
    onNext: (endCursor: string | null, shown: number) => setParams({ after: endCursor ?? undefined, before: undefined, from: String(from() + shown) }),
  };
  const selectTab = (slug: string) =>
    setParams({
      tab: slug,
      after: undefined,
      before: undefined,
      from: undefined,
      version: undefined,
      reason: undefined,
      failedAfter: undefined,
      failedBefore: undefined,
    });

  // ── job actions ───────────────────────────────────────────────────────────────────────────
  const canControl = () => session.can('OTA_CONTROL');
  const [editing, setEditing] = createSignal(false);
  const [confirmCancel, setConfirmCancel] = createSignal(false);
  const [busy, setBusy] = createSignal(false);
  const [notice, setNotice] = createSignal<{ kind: 'success' | 'error'; text: string; details?: string[] } | null>(null);

  const control = async (action: 'stop' | 'start' | 'cancel') => {
    setBusy(true);
    setNotice(null);
    const id = jobId();
    const outcome =
      action === 'stop'
        ? await client
            .mutation(StopJobMutation, { id })
            .toPromise()
            .then((r) => outcomeOf(r.error, r.data?.stopJob))
        : action === 'start'
          ? await client
              .mutation(StartJobMutation, { id })
              .toPromise()
              .then((r) => outcomeOf(r.error, r.data?.startJob))
          : await client
              .mutation(CancelJobMutation, { id })
              .toPromise()
              .then((r) => outcomeOf(r.error, r.data?.cancelJob));
    setBusy(false);
    setConfirmCancel(false);
    if (!outcome.ok) setNotice({ kind: 'error', text: outcome.problem.message, details: outcome.problem.details });
    else
      setNotice({
        kind: 'success',
        text: { stop: 'The job is stopped: nothing new is pushed.', start: 'The job is running.', cancel: 'The job is cancelled.' }[action],
      });
  };

  // Screen readers hear the job's status when it changes and its numbers now and then, not every change.
  const announcement = createAnnouncement(
    () => liveFields()?.status ?? null,
    () => {
      const l = liveFields();
      return l
        ? `Job ${l.status.toLowerCase()}: ${l.progress}% finished, ${formatCount(l.statusCounts.succeeded)} succeeded, ${formatCount(l.statusCounts.failed)} failed.`
        : '';
    },
  );
  const deviceWord = () => (job()?.type === 'VERIFICATION' ? 'Devices to be verified' : 'Devices to be upgraded');
  const status = () => (liveFields()?.status ?? 'RUNNING') as JobStatus;

  return (
    <JobZoneContext.Provider value={jobZone}>
      <section class="page">
        <Switch>
          <Match when={query.error && !job()}>
            <ProblemView problem={problemOfError(query.error!)} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
          </Match>
          <Match when={query.data && !query.data.job && !live.data}>
            <div class="state state-empty">
              <div class="state-title">OTA job not found</div>
              <div class="state-text">
                No job with this id exists in your organisation unit. <A href="/jobs">Back to OTA Jobs</A>
              </div>
            </div>
          </Match>
          <Match when={!job()}>
            <Loading label="Loading the job…" />
          </Match>
          <Match when={job()}>
            {(j) => (
              <>
                <header class="page-header">
                  <div>
                    <div class="breadcrumb">
                      <A href="/jobs">OTA Jobs</A> / Job details
                    </div>
                    <h1 data-testid="job-name">
                      {j().name} <JobTypeTag type={j().type} /> <JobStatusBadge status={status()} />
                    </h1>
                  </div>
                  <div class="page-actions">
                    <Show when={status() === 'RUNNING' || status() === 'SCHEDULED' || status() === 'WAITING_FOR_APPROVAL'}>
                      <button
                        type="button"
                        class="btn"
                        disabled={!canControl() || busy()}
                        title={canControl() ? undefined : 'Needs OTA_CONTROL'}
                        onClick={() => void control('stop')}
                      >
                        Stop
                      </button>
                    </Show>
                    <Show when={status() === 'STOPPED' || status() === 'SCHEDULED'}>
                      <button
                        type="button"
                        class="btn"
                        disabled={!canControl() || busy()}
                        title={canControl() ? undefined : 'Needs OTA_CONTROL'}
                        onClick={() => void control('start')}
                      >
                        {status() === 'SCHEDULED' ? 'Start now' : 'Start'}
                      </button>
                    </Show>
                    <Show when={status() !== 'FINISHED' && status() !== 'CANCELLED'}>
                      <button
                        type="button"
                        class="btn btn-danger-outline"
                        disabled={!canControl() || busy()}
                        title={canControl() ? undefined : 'Needs OTA_CONTROL'}
                        onClick={() => setConfirmCancel(true)}
                      >
                        Cancel job
                      </button>
                    </Show>
                    <button type="button" class="btn btn-primary" data-testid="edit-job" onClick={() => setEditing(true)}>
                      {j().type === 'VERIFICATION' ? 'Verification Job' : 'Upgrade Job'}
                    </button>
                  </div>
                </header>

                <Show when={notice()}>
                  {(n) => (
                    <Banner kind={n().kind} onClose={() => setNotice(null)}>
                      {n().text}
                      <Show when={n().details?.length}>
                        <ul class="problem-details">
                          <For each={n().details}>{(d) => <li>{d}</li>}</For>
                        </ul>
                      </Show>
                    </Banner>
                  )}
                </Show>
                <Show when={liveFields()?.statusReason}>
                  <Banner kind="warning">{liveFields()!.statusReason}</Banner>
                </Show>

                <div class="visually-hidden" role="status" aria-live="polite" data-testid="job-announcement">
                  {announcement()}
                </div>
                <div class="card facts" data-testid="job-facts">
                  <Fact label="Product">{j().product.name}</Fact>
                  <Fact label="Firmware">
                    {j().firmware.name} <span class="muted">{j().firmware.version}</span>
                  </Fact>
                  <Fact label="Job type">{j().type === 'VERIFICATION' ? 'Verification' : 'Upgrade'}</Fact>
                  <Fact label="Creation date">{times.format(j().createdAt)}</Fact>
                  <Fact label={deviceWord()}>
                    <span data-testid="device-count">{formatCount(liveFields()!.deviceCount)}</span>
                  </Fact>
                  <Fact label={j().type === 'VERIFICATION' ? 'Verification progress' : 'Upgrade progress'} wide>
                    <div data-testid="job-progress" data-progress={liveFields()!.progress}>
                      <JobProgressBar job={liveFields()!} label="Job progress" />
                    </div>
                  </Fact>
                </div>

                <Show when={waveData()?.waves.length}>
                  <WaveStepper
                    data={waveData()!}
                    jobStatus={status()}
                    canControl={canControl()}
                    selectedWave={selectedWave()}
                    onSelectWave={(wave) =>
                      setParams({ wave: wave === undefined ? undefined : String(wave), after: undefined, before: undefined, from: undefined })
                    }
                    onApproved={(text, ok) => setNotice({ kind: ok ? 'success' : 'error', text })}
                    format={times.format}
                  />
                </Show>

                <div class="panels">
                  <div class="card panel">
                    <h2 class="card-title">Progress over time</h2>
                    <ProgressChart
                      samples={samples()}
                      startedAt={j().startedAt ?? null}
                      finishedAt={j().finishedAt ?? null}
                      finalProgress={liveFields()!.progress}
                    />
                  </div>
                  <div class="card panel">
                    <h2 class="card-title">
                      Failure reasons <span class="muted">({formatCount(liveFields()!.statusCounts.failed)} failed)</span>
                    </h2>
                    <FailureBreakdown
                      counts={j().failureReasonCounts}
                      onSelect={(reason) => setParams({ tab: 'failed', reason, after: undefined, before: undefined, from: undefined })}
                    />
                  </div>
                </div>

                <div class="card">
                  <Show when={selectedWave() !== undefined}>
                    <div class="wave-filter" data-testid="wave-filter">
                      Devices of wave {selectedWave()! + 1} ({waveData()?.waves.find((w) => w.index === selectedWave())?.name}){' '}
                      <button
                        type="button"
                        class="btn-link"
                        onClick={() => setParams({ wave: undefined, after: undefined, before: undefined, from: undefined })}
                      >
                        Show all waves
                      </button>
                    </div>
                  </Show>
                  <Tabs value={tab().slug} onChange={selectTab} activationMode="automatic">
                    <Tabs.List class="tabs" aria-label="Device status">
                      <For each={TABS}>
                        {(t) => (
                          <Tabs.Trigger value={t.slug} class="tab" classList={{ active: tab().slug === t.slug }} data-testid={`tab-${t.slug}`}>
                            {t.label}
                            <span class="tab-count" data-testid={`count-${t.slug}`}>
                              {formatCount(tabCounts()[t.countKey])}
                            </span>
                          </Tabs.Trigger>
                        )}
                      </For>
                    </Tabs.List>
                    <Tabs.Content value={tab().slug} class="tab-panel">
                      <DeviceSearch failedTab={tab().status === 'FAILED'} params={params} setFilter={setFilter} pageSize={pageSize()} pageSizes={PAGE_SIZES} />
                      <DeviceTable
                        jobId={j().id}
                        productKey={j().product.productKey}
                        emptyHint={
                          view().currentVersion
                            ? `No failed device's current version is exactly “${view().currentVersion}”: the version search matches the whole version (e.g. 1.1.0, not 1.1).`
                            : undefined
                        }
                        view={view()}
                        paging={paging()}
                        pageSize={pageSize()}
                        pager={pager}
                        canControl={canControl()}
                        filtered={filtered()}
                        tabCount={tabCounts()[tab().countKey]}
                      />
                    </Tabs.Content>
                  </Tabs>
                </div>

                <JobSettingsSummary job={j()} />

                <JobEditDialog
                  job={j()}
                  open={editing()}
                  canControl={canControl()}
                  onClose={() => setEditing(false)}
                  onSaved={(text) => {
                    setEditing(false);
                    setNotice({ kind: 'success', text });
                    refetch({ requestPolicy: 'network-only' });
                  }}
                />
                <ConfirmDialog
                  open={confirmCancel()}
                  title="Cancel job"
                  confirmLabel="Cancel job"
                  danger
                  busy={busy()}
                  onConfirm={() => void control('cancel')}
                  onClose={() => setConfirmCancel(false)}
                >
                  <p>
                    Cancel “{j().name}”? Devices not yet upgrading (To be Pushed and Pushed) move to Upgrade Failed as <strong>Cancelled by user</strong>.
                    Devices already In Progress finish or time out. A cancelled job cannot be started again.
                  </p>
                </ConfirmDialog>
              </>
            )}
          </Match>
        </Switch>
      </section>
    </JobZoneContext.Provider>
  );
}

function Fact(props: { label: string; children: import('solid-js').JSX.Element; wide?: boolean }) {
  return (
    <div class="fact" classList={{ 'fact-wide': props.wide }}>
      <div class="fact-label">{props.label}</div>
      <div class="fact-value">{props.children}</div>
    </div>
  );
}
