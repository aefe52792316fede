/**
 * OTA Jobs: every job of the organisation unit, newest first, filtered by product, type, status and
 * name; active jobs' progress bars move live (one jobProgress subscription per visible active job).
 */
import { A } from '@solidjs/router';
import { createQuery, createSubscription } from '@urql/solid';
import { For, Match, Show, Switch } from 'solid-js';
import { readFragment, type ResultOf } from '../../api/graphql';
import { problemOfError } from '../../api/outcome';
import { JobStatusBadge, JobTypeTag } from '../../components/Badges';
import { Pager } from '../../components/Pager';
import { ProgressBar } from '../../components/ProgressBar';
import { SearchInput } from '../../components/SearchInput';
import { Empty, Loading, ProblemView } from '../../components/States';
import { formatCount, formatDateTime } from '../../format';
import { isActiveJob, JOB_STATUS_LABELS, JOB_STATUSES, JOB_TYPE_LABELS, type JobStatus, type JobType } from '../../labels';
import { pagerProps, pageVariables, param, useViewParams } from '../../url';
import { JobLiveFields, JobProgressSubscription, JobsQuery } from './documents';

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
  return (
    <section class="page">
      <header class="page-header">
        <div>
          <div class="breadcrumb">Device Management / OTA Upgrades</div>
          <h1>OTA Jobs</h1>
        </div>
        <div class="page-actions">
          <button class="btn" onClick={() => refetch({ requestPolicy: 'network-only' })}>
            Refresh
          </button>
          <A class="btn btn-primary" href="/firmware">
            New job from firmware
          </A>
        </div>
      </header>

      <div class="toolbar" role="search">
        <select class="input" aria-label="Product" value={param(params, 'product') ?? ''} onChange={(e) => setFilter({ product: e.currentTarget.value })}>
          <option value="">All products</option>
          <For each={jobs.data?.products ?? []}>{(p) => <option value={p.productKey}>{p.name}</option>}</For>
        </select>
        <select class="input" aria-label="Job type" value={param(params, 'type') ?? ''} onChange={(e) => setFilter({ type: e.currentTarget.value })}>
          <option value="">All types</option>
          <For each={Object.entries(JOB_TYPE_LABELS)}>{([value, label]) => <option value={value}>{label}</option>}</For>
        </select>
        <select class="input" aria-label="Job status" value={param(params, 'status') ?? ''} onChange={(e) => setFilter({ status: e.currentTarget.value })}>
          <option value="">All statuses</option>
          <For each={JOB_STATUSES}>{(s) => <option value={s}>{JOB_STATUS_LABELS[s]}</option>}</For>
        </select>
        <SearchInput label="Job name" placeholder="Search job name" value={param(params, 'q')} onSearch={(q) => setFilter({ q })} />
      </div>

      <Switch>
        <Match when={jobs.error && !connection()}>
          <ProblemView problem={problemOfError(jobs.error!)} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
        </Match>
        <Match when={!connection()}>
          <Loading label="Loading OTA jobs…" />
        </Match>
        <Match when={connection()!.nodes.length === 0}>
          <Empty title="No OTA jobs match">
            <Show when={Object.values(params).some(Boolean)} fallback="Create one from the Firmware page: Verify or Batch Upgrade.">
              Change or clear the filters to see more jobs.
            </Show>
          </Empty>
        </Match>
        <Match when={connection()}>
          {(c) => (
            <div class="card" classList={{ stale: jobs.fetching }}>
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
                    <th class="col-progress">Progress</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  <For each={c().nodes}>{(job) => <JobRow job={job} />}</For>
                </tbody>
              </table>
              <Pager {...pagerProps(params, setParams, { pageInfo: c().pageInfo, shown: c().nodes.length, total: c().totalCount }, PAGE_SIZE)} />
            </div>
          )}
        </Match>
      </Switch>
    </section>
  );
}

type JobNode = ResultOf<typeof JobsQuery>['jobs']['nodes'][number];

function JobRow(props: { job: JobNode }) {
  const initial = () => readFragment(JobLiveFields, props.job);
  const [live] = createSubscription({
    query: JobProgressSubscription,
    variables: () => ({ jobId: props.job.id }),
    pause: () => !isActiveJob(initial().status),
  });
  const state = () => (live.data ? readFragment(JobLiveFields, live.data.jobProgress) : initial());
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
      <td class="nowrap">{formatDateTime(props.job.createdAt)}</td>
      <td class="num">{formatCount(state().deviceCount)}</td>
      <td class="col-progress">
        <ProgressBar value={state().progress} tone={state().status === 'FINISHED' ? 'success' : 'default'} label={`${props.job.name} progress`} compact />
      </td>
      <td class="actions">
        <A href={`/jobs/${encodeURIComponent(props.job.id)}`} class="btn btn-small">
          View Details
        </A>
      </td>
    </tr>
  );
}
