/**
 * Scenario 1, job details: the job query (status counts and the first page of each of the five
 * tabs) and an Upgrade Failed search (reason + version + time range), through GraphQL over HTTP,
 * against the same data served as plain JSON by hand-written SQL in the same process. Measured on a
 * 10,000-task job, a 100,000-task job, and both again once the database holds 1,000,000 tasks.
 */
import { isDeepStrictEqual } from 'node:util';
import { startJsonBaseline } from '../baselines/job-details-json.js';
import type { BenchContext } from '../context.js';
import { createBenchDatabase, startUpdraft } from '../environment.js';
import { addFirmware, createFleet, createJob, FAILED_FROM, shapeRollout } from '../fixtures.js';
import { figure, median, quantile, ratios, type Figure, type ScenarioResult } from '../results.js';
import { Worker } from '../workers.js';

const PAGE = 20;

const ROW = 'id deviceKey status progress failureReason failureReasonText failureDetail waitingReason currentVersion pushedAt failedAt updatedAt';
const PAGE_FIELDS = `totalCount pageInfo { hasNextPage endCursor } nodes { ${ROW} }`;
export const JOB_DETAILS_QUERY = `query JobDetails($id: ID!, $first: Int!) {
  job(id: $id) {
    id name status progress deviceCount
    statusCounts { toBePushed pushed inProgress succeeded failed }
    toBePushed: devices(status: TO_BE_PUSHED, first: $first) { ${PAGE_FIELDS} }
    pushed: devices(status: PUSHED, first: $first) { ${PAGE_FIELDS} }
    inProgress: devices(status: IN_PROGRESS, first: $first) { ${PAGE_FIELDS} }
    succeeded: devices(status: SUCCEEDED, first: $first) { ${PAGE_FIELDS} }
    failed: devices(status: FAILED, first: $first) { ${PAGE_FIELDS} }
  }
}`;
export const FAILED_SEARCH_QUERY = `query FailedSearch($id: ID!, $first: Int!, $reason: FailureReason, $version: String, $after: DateTime, $before: DateTime) {
  job(id: $id) {
    id
    devices(status: FAILED, failureReason: $reason, currentVersion: $version, failedAfter: $after, failedBefore: $before, first: $first) { ${PAGE_FIELDS} }
  }
}`;

const SEARCH = {
  failureReason: 'DOWNLOAD_FAILED',
  currentVersion: '1.0.0',
  failedAfter: new Date(FAILED_FROM.getTime() + 2 * 3600_000).toISOString(),
  failedBefore: new Date(FAILED_FROM.getTime() + 6 * 3600_000).toISOString(),
};

interface Latencies {
  graphqlJob: number[];
  baselineJob: number[];
  graphqlSearch: number[];
  baselineSearch: number[];
}

export async function runJobDetails(ctx: BenchContext): Promise<ScenarioResult> {
  const sizes = ctx.quick ? { small: 1_000, big: 5_000, extraJobs: 9, requests: 20 } : { small: 10_000, big: 100_000, extraJobs: 9, requests: 150 };
  const database = await createBenchDatabase();
  const updraft = await startUpdraft(database, { engineEnabled: false });
  const baseline = await startJsonBaseline(database);
  const client = Worker.start('http-client');
  const { server, token } = updraft;
  const auth = { authorization: `Bearer ${token}` };
  const checks: string[] = [];
  try {
    const runsFor = (jobId: string) => {
      const globalJobId = Buffer.from(`OtaJob:${jobId}`).toString('base64');
      return [
        { url: server.graphqlUrl, headers: auth, body: JSON.stringify({ query: JOB_DETAILS_QUERY, variables: { id: globalJobId, first: PAGE } }) },
        { url: `${baseline.url}/job-details`, headers: auth, body: JSON.stringify({ jobId, size: PAGE }) },
        {
          url: server.graphqlUrl,
          headers: auth,
          body: JSON.stringify({
            query: FAILED_SEARCH_QUERY,
            variables: {
              id: globalJobId,
              first: PAGE,
              reason: SEARCH.failureReason,
              version: SEARCH.currentVersion,
              after: SEARCH.failedAfter,
              before: SEARCH.failedBefore,
            },
          }),
        },
        { url: `${baseline.url}/failed-search`, headers: auth, body: JSON.stringify({ jobId, size: PAGE, search: SEARCH }) },
      ];
    };

    /** Same answers from both, then the warm-up, then `reps` timed repetitions (requests interleaved in blocks). */
    const measure = async (label: string, jobId: string): Promise<Latencies[]> => {
      const runs = runsFor(jobId);
      const answers = await Promise.all(
        runs.map(
          async (run) =>
            (await (await fetch(run.url, { method: 'POST', headers: { 'content-type': 'application/json', ...run.headers }, body: run.body })).json()) as {
              data?: unknown;
              errors?: unknown;
            },
        ),
      );
      for (const [a, b, what] of [
        [answers[0], answers[1], 'job query'],
        [answers[2], answers[3], 'failed search'],
      ] as const) {
        if (a.errors || !isDeepStrictEqual(a.data, b.data)) {
          throw new Error(`${label}: the ${what} answers differ:\nGraphQL ${JSON.stringify(a).slice(0, 1500)}\nbaseline ${JSON.stringify(b).slice(0, 1500)}`);
        }
      }
      const found = (answers[2].data as { job: { devices: { totalCount: number } } }).job.devices.totalCount;
      checks.push(`${label}: GraphQL and the hand-written baseline answer identical data (failed search finds ${found} devices)`);
      await client.call('time', { runs: runs.map((r) => ({ ...r, count: Math.max(10, sizes.requests / 5) })), blocks: 1 });
      const reps: Latencies[] = [];
      for (let rep = 0; rep < ctx.reps; rep++) {
        const [graphqlJob, baselineJob, graphqlSearch, baselineSearch] = await client.call<number[][]>('time', {
          runs: runs.map((r) => ({ ...r, count: sizes.requests })),
          blocks: 5,
        });
        reps.push({ graphqlJob, baselineJob, graphqlSearch, baselineSearch });
        ctx.log(
          `  ${label} rep ${rep + 1}: job ${median(graphqlJob).toFixed(2)} ms vs ${median(baselineJob).toFixed(2)} ms; ` +
            `search ${median(graphqlSearch).toFixed(2)} ms vs ${median(baselineSearch).toFixed(2)} ms`,
        );
      }
      return reps;
    };

    ctx.log(`  setting up a ${sizes.small.toLocaleString('en-US')}-task job`);
    const small = await createFleet(server, { productKey: 'small', count: sizes.small, altVersion: '1.1.0' });
    const smallJob = await createJob(server, (await addFirmware(server, small, '2.0.0')).id);
    await shapeRollout(server, smallJob.id);
    const smallAlone = await measure(`${fmt(sizes.small)}-task job, ${fmt(sizes.small)} tasks in the database`, smallJob.id);

    ctx.log(`  setting up a ${fmt(sizes.big)}-task job`);
    const big = await createFleet(server, { productKey: 'big', count: sizes.big, altVersion: '1.1.0' });
    const bigJob = await createJob(server, (await addFirmware(server, big, '2.0.0')).id);
    await shapeRollout(server, bigJob.id);
    const bigAlone = await measure(`${fmt(sizes.big)}-task job`, bigJob.id);

    ctx.log(`  growing the database to ${fmt(sizes.small + sizes.big * (1 + sizes.extraJobs))} tasks`);
    for (let k = 1; k <= sizes.extraJobs; k++) {
      const job = await createJob(server, (await addFirmware(server, big, `3.${k}.0`)).id);
      await shapeRollout(server, job.id);
    }
    const [{ n: total }] = await database.handle.rawQuery<{ n: string | number }>('select count(*) as n from job_tasks');
    const bigInMillion = await measure(`${fmt(sizes.big)}-task job, ${fmt(Number(total))} tasks in the database`, bigJob.id);
    const smallInMillion = await measure(`${fmt(sizes.small)}-task job, ${fmt(Number(total))} tasks in the database`, smallJob.id);

    const med = (reps: Latencies[], key: keyof Latencies) => reps.map((r) => median(r[key]));
    const p95 = (reps: Latencies[], key: keyof Latencies) => reps.map((r) => quantile(r[key], 0.95));
    const le = (limit: number) => ({ text: `≤ ${limit}`, met: (m: number) => m <= limit });
    const figures: Figure[] = [];
    for (const [label, reps, goal] of [
      [`${fmt(sizes.big)}-task job`, bigAlone, true],
      [`${fmt(sizes.small)}-task job (${fmt(sizes.small)} tasks in the database)`, smallAlone, false],
      [`${fmt(sizes.big)}-task job, ${fmt(Number(total))} tasks in the database`, bigInMillion, true],
      [`${fmt(sizes.small)}-task job, ${fmt(Number(total))} tasks in the database`, smallInMillion, false],
    ] as const) {
      figures.push(
        figure(`job query, ${label}: GraphQL median`, 'ms', med(reps, 'graphqlJob')),
        figure(`job query, ${label}: GraphQL p95`, 'ms', p95(reps, 'graphqlJob')),
        figure(`job query, ${label}: hand-written SQL + JSON median`, 'ms', med(reps, 'baselineJob')),
        figure(`job query, ${label}: ratio GraphQL / baseline`, '×', ratios(med(reps, 'graphqlJob'), med(reps, 'baselineJob')), goal ? le(1.3) : undefined),
        figure(`failed search, ${label}: GraphQL median`, 'ms', med(reps, 'graphqlSearch')),
        figure(`failed search, ${label}: hand-written SQL + JSON median`, 'ms', med(reps, 'baselineSearch')),
        figure(
          `failed search, ${label}: ratio GraphQL / baseline`,
          '×',
          ratios(med(reps, 'graphqlSearch'), med(reps, 'baselineSearch')),
          goal ? le(1.3) : undefined,
        ),
      );
    }
    figures.push(
      figure(
        `growth: job query on the ${fmt(sizes.big)}-task job in the ${fmt(Number(total))}-task database / on the ${fmt(sizes.small)}-task job alone`,
        '×',
        ratios(med(bigInMillion, 'graphqlJob'), med(smallAlone, 'graphqlJob')),
        le(2),
      ),
      figure(
        `growth: failed search on the ${fmt(sizes.big)}-task job in the ${fmt(Number(total))}-task database / on the ${fmt(sizes.small)}-task job alone`,
        '×',
        ratios(med(bigInMillion, 'graphqlSearch'), med(smallAlone, 'graphqlSearch')),
        le(2),
      ),
    );
    return {
      id: 'job-details',
      title: '1. Job details',
      setup:
        `${PAGE} devices per page; ${sizes.requests} sequential requests per repetition and query on one keep-alive connection from a client process, ` +
        `GraphQL and baseline interleaved in 5 blocks; the database holds jobs shaped like a rollout in full swing (40% succeeded, 20% failed over 10 h, 2% in flight).`,
      figures,
      checks,
      notes: [],
    };
  } finally {
    await client.close();
    await baseline.close();
    await updraft.close();
    await database.drop();
  }
}

const fmt = (n: number) => n.toLocaleString('en-US');
