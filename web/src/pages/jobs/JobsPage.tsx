/**
 * OTA Jobs: every job of the organisation unit, newest first, filtered by product, type, status and
 * name; progress bars and statuses move live (one jobsUpdated subscription for the list). A job
 * that changes but is not on the page (a new one, say) is counted so the operator can refresh.
 */
import { A } from '@solidjs/router';
import { createQuery, createSubscription } from '@urql/solid';
import { createSignal, For, Show } from 'solid-js';
import { readFragment, type ResultOf } from '../../api/graphql';
import { JobStatusBadge, JobTypeTag } from '../../components/Badges';
import { Pager } from '../../components/Pager';
import { JobProgressBar } from '../../components/ProgressBar';
import { SearchInput } from '../../components/SearchInput';
import { ListView } from '../../components/ListView';
import { Empty } from '../../components/States';
import { formatCount } from '../../format';
import { displayZone, formatDateTime } from '../../times';
import { JOB_STATUS_LABELS, JOB_STATUSES, JOB_TYPE_LABELS, type JobStatus, type JobType } from '../../labels';
import { ProductSelect } from '../../components/ProductSelect';
import { pagerProps, pageVariables, param, useViewParams } from '../../url';
import { JobLiveFields, JobsQuery, JobsUpdatedSubscription } from './documents';

const PAGE_SIZE = 25;

export function JobsPage() {
  const { params, setParams, setFilter } = useViewParams();
  const [jobs, refetch] = createQuery({
    query: JobsQuery,
    variables: () => ({
      productKey: param(params, 'product') ?? null,
      type: (param(params, 'type') as JobType | undefined) ?? null,
      status: (param(params, 'status') as JobStatus | undefined) ?? null,
      search: param(params, 'q') ?? null,
      ...pageVariables(params, PAGE_SIZE),
    }),
  });
  const connection = () => jobs.data?.jobs;

  // Live states by job id, newer than the list's; jobs not on the page are only counted.
  const [liveJobs, setLiveJobs] = createSignal<ReadonlyMap<string, LiveJob>>(new Map());
  const [elsewhere, setElsewhere] = createSignal<ReadonlySet<string>>(new Set());
  createSubscription({ query: JobsUpdatedSubscription, variables: () => ({ productKey: param(params, 'product') ?? null }) }, (_previous, data) => {
    const job = readFragment(JobLiveFields, data.jobsUpdated);
    if (connection()?.nodes.some((n) => n.id === job.id)) setLiveJobs((m) => new Map(m).set(job.id, job));
    else setElsewhere((s) => new Set(s).add(job.id));
    return data;
  });
  const refresh = () => {
    setElsewhere(new Set<string>());
    setLiveJobs(new Map());
    refetch({ requestPolicy: 'network-only' });
  };
  return (
    <section class="page">
      <header class="page-header">
        <div>
          <div class="breadcrumb">Device Management / OTA Upgrades</div>
          <h1>OTA Jobs</h1>
        </div>
        <div class="page-actions">
          <Show when={elsewhere().size > 0}>
            <span class="live-note" data-testid="jobs-elsewhere">
              {elsewhere().size} {elsewhere().size === 1 ? 'job' : 'jobs'} changed or added beyond this page
            </span>
          </Show>
          <button type="button" class="btn" onClick={refresh}>
            Refresh
          </button>
          <A class="btn btn-primary" href="/firmware">
            New job from firmware
          </A>
        </div>
      </header>

      <search class="toolbar">
        <ProductSelect
          products={jobs.data?.products ?? []}
          value={param(params, 'product')}
          onChange={(product) => setFilter({ product })}
          allLabel="All products"
        />
        <select class="input" aria-label="Job type" value={param(params, 'type') ?? ''} onChange={(e) => setFilter({ type: e.currentTarget.value })}>
          <option value="">All types</option>
          <For each={Object.entries(JOB_TYPE_LABELS)}>{([value, label]) => <option value={value}>{label}</option>}</For>
        </select>
        <select class="input" aria-label="Job status" value={param(params, 'status') ?? ''} onChange={(e) => setFilter({ status: e.currentTarget.value })}>
          <option value="">All statuses</option>
          <For each={JOB_STATUSES}>{(s) => <option value={s}>{JOB_STATUS_LABELS[s]}</option>}</For>
        </select>
        <SearchInput label="Job name" placeholder="Search job name" value={param(params, 'q')} onSearch={(q) => setFilter({ q })} />
      </search>

      <ListView
        connection={connection()}
        error={jobs.error}
        fetching={jobs.fetching}
        loadingLabel="Loading OTA jobs…"
        empty={
          <Empty title="No OTA jobs match">
            <Show when={Object.values(params).some(Boolean)} fallback="Create one from the Firmware page: Verify or Batch Upgrade.">
              Change or clear the filters to see more jobs.
            </Show>
          </Empty>
        }
        onRetry={refresh}
      >
        {(c) => (
          <>
            <table class="table" data-testid="jobs-table">
              <thead>
                <tr>
                  <th>Job name</th>
                  <th>Type</th>
                  <th>Product</th>
                  <th>Firmware</th>
                  <th>Status</th>
                  <th>Created</th>
                  <th class="num">Devices</th>
                  <th class="col-progress">Progress (succeeded / failed)</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                <For each={c().nodes}>{(job) => <JobRow job={job} live={liveJobs().get(job.id)} />}</For>
              </tbody>
            </table>
            <Pager {...pagerProps(params, setParams, { pageInfo: c().pageInfo, shown: c().nodes.length, total: c().totalCount }, PAGE_SIZE)} />
          </>
        )}
      </ListView>
    </section>
  );
}

type JobNode = ResultOf<typeof JobsQuery>['jobs']['nodes'][number];
type LiveJob = ResultOf<typeof JobLiveFields>;

/** The newer of the list's state and the live one (a refetch can be newer than the last event). */
function newest(a: LiveJob, b: LiveJob | undefined): LiveJob {
  return b && Date.parse(b.updatedAt) >= Date.parse(a.updatedAt) ? b : a;
}

function JobRow(props: { job: JobNode; live: LiveJob | undefined }) {
  const state = () => newest(readFragment(JobLiveFields, props.job), props.live);
  return (
    <tr data-testid="job-row" data-job-id={props.job.id}>
      <td>
        <A href={`/jobs/${encodeURIComponent(props.job.id)}`} class="link-strong">
          {props.job.name}
        </A>
      </td>
      <td>
        <JobTypeTag type={props.job.type} />
      </td>
      <td>{props.job.product.name}</td>
      <td>
        {props.job.firmware.name} <span class="muted">{props.job.firmware.version}</span>
      </td>
      <td>
        <JobStatusBadge status={state().status} />
      </td>
      <td class="nowrap">{formatDateTime(props.job.createdAt, displayZone(props.job.schedule?.timezone))}</td>
      <td class="num">{formatCount(state().deviceCount)}</td>
      <td class="col-progress">
        <JobProgressBar job={state()} label={`${props.job.name} progress`} compact />
      </td>
      <td class="actions">
        <A href={`/jobs/${encodeURIComponent(props.job.id)}`} class="btn btn-small">
          View Details
        </A>
      </td>
    </tr>
  );
}
