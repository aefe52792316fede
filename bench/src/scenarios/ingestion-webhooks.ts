/**
 * Ingestion with webhooks on (issue 17, "never slows the fleet"): the ingestion scenario's load
 * (every device sends progress 1, 2, … over MQTT QoS 1 as soon as its previous report was
 * acknowledged), run on one server and one fleet twice per repetition: without webhook endpoints,
 * then with 3 endpoints subscribed to every event type, delivering to a receiver on 127.0.0.1 that
 * answers 204. Ratio = acknowledged reports per second with webhooks / without, same run. The
 * endpoints are deleted after each "on" run so that the next "off" run has none.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BenchContext } from '../context.js';
import { createBenchDatabase, sleep, startUpdraft, waitUntil } from '../environment.js';
import { addFirmware, createFleet, createJob, DEVICE_SECRET, deviceKey, putInFlight } from '../fixtures.js';
import { figure, ratios, type ScenarioResult } from '../results.js';
import { Worker } from '../workers.js';
import { sustainedRate } from './ingestion.js';

interface ProgressRun {
  sent: number;
  acked: number;
  startedAt: number;
  ackTimes: number[];
  latencies: number[];
  lastAcked: number[];
}

const ENDPOINTS = 3;

export async function runIngestionWebhooks(ctx: BenchContext): Promise<ScenarioResult> {
  const sizes = ctx.quick ? { devices: 300, seconds: 4 } : { devices: 10_000, seconds: 20 };
  let received = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  const database = await createBenchDatabase();
  const updraft = await startUpdraft(database, { webhookAllowedTargets: ['127.0.0.1'] });
  const { server } = updraft;
  const devices = Worker.start('devices');
  const checks: string[] = [];
  const gql = async (query: string, variables: Record<string, unknown> = {}) => {
    const response = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${updraft.token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: Record<string, any>; errors?: unknown[] };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data!;
  };
  try {
    const fleet = await createFleet(server, { productKey: 'ingest-hooks', count: sizes.devices });
    const job = await createJob(server, (await addFirmware(server, fleet, '2.0.0')).id, { maxConcurrency: sizes.devices });
    const url = new URL(server.rollout.gateway!.deviceUrl);
    const connected = await devices.call<{ connected: number; ms: number }>('connect', {
      host: url.hostname,
      port: Number(url.port),
      fleet: { productKey: fleet.productKey, prefix: fleet.prefix, from: 0, count: fleet.count, secret: DEVICE_SECRET },
    });
    ctx.log(`  ${connected.connected} devices connected in ${(connected.ms / 1000).toFixed(1)} s`);
    const eventTypes = ((await gql('{ webhookEventTypes { name } }')).webhookEventTypes as { name: string }[]).map((t) => t.name);

    const runOnce = async (seconds: number) => {
      await putInFlight(server, job.id);
      await sleep(300);
      const run = await devices.call<ProgressRun>('progress', { fromStep: 1, toStep: 99, seconds, awaitReply: true });
      const rows = await database.handle.rawQuery<{ device_key: string; progress: number }>('select device_key, progress from job_tasks where job_id = $1', [
        job.id,
      ]);
      const expected = new Map(run.lastAcked.map((step, i) => [deviceKey(fleet.prefix, i), step]));
      const wrong = rows.filter((r) => Number(r.progress) !== Math.max(0, expected.get(r.device_key) ?? -1));
      if (wrong.length) throw new Error(`${wrong.length} tasks do not hold their last acknowledged progress`);
      return run;
    };

    await runOnce(Math.min(5, sizes.seconds));
    const off: number[] = [];
    const on: number[] = [];
    for (let rep = 1; rep <= ctx.reps; rep++) {
      const without = await runOnce(sizes.seconds);
      off.push(sustainedRate(without));
      const ids: string[] = [];
      for (let i = 0; i < ENDPOINTS; i++) {
        const created = await gql(
          `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
             __typename ... on MutationCreateWebhookEndpointSuccess { data { endpoint { id } } } ... on Error { message } } }`,
          { input: { name: `bench ${i + 1}`, url: receiverUrl, eventTypes } },
        );
        if (created.createWebhookEndpoint.__typename !== 'MutationCreateWebhookEndpointSuccess') throw new Error(JSON.stringify(created));
        ids.push(created.createWebhookEndpoint.data.endpoint.id);
      }
      const receivedBefore = received;
      const withHooks = await runOnce(sizes.seconds);
      on.push(sustainedRate(withHooks));
      // Every queued delivery goes out (the run did not just postpone the work).
      const pending = async () => {
        let total = 0;
        for (const id of ids)
          total += (await gql(`query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { pendingDeliveries } } }`, { id })).node.pendingDeliveries;
        return total;
      };
      await waitUntil(async () => (await pending()) === 0, 'every webhook delivery sent', 60_000, 250);
      const deliveries = received - receivedBefore;
      for (const id of ids) await gql(`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { __typename } }`, { id });
      checks.push(
        `rep ${rep}: off ${without.acked.toLocaleString('en-US')} reports acknowledged, on ${withHooks.acked.toLocaleString('en-US')}; ` +
          `${deliveries} webhook deliveries received for the on run, none left pending; every task holds its last acknowledged step`,
      );
      ctx.log(
        `  rep ${rep}: without webhooks ${Math.round(off.at(-1)!)} reports/s, with ${ENDPOINTS} endpoints ${Math.round(on.at(-1)!)} reports/s (${deliveries} deliveries)`,
      );
    }
    return {
      id: 'ingestion-webhooks',
      title: '2b. Ingestion with webhooks',
      setup:
        `${sizes.devices.toLocaleString('en-US')} devices with a task Pushed send progress 1, 2, … (QoS 1, next report once the previous was acknowledged) for ${sizes.seconds} s, ` +
        `on one server: first with no webhook endpoint, then with ${ENDPOINTS} endpoints subscribed to every event type (a receiver on 127.0.0.1 answering 204). Rate = acknowledged reports per second after the first second.`,
      figures: [
        figure('without webhooks: reports per second', '/s', off),
        figure(`with ${ENDPOINTS} webhook endpoints: reports per second`, '/s', on),
        figure('ratio with / without webhooks', '×', ratios(on, off), { text: '≥ 0.9', met: (m) => m >= 0.9 }),
      ],
      checks,
      notes: ['Progress reports make job.progress events only (coalesced per job per WEBHOOK_PROGRESS_INTERVAL_MS); no task finishes in this load.'],
    };
  } finally {
    await devices.call('close').catch(() => {});
    await devices.close();
    await updraft.close();
    await database.drop();
    await new Promise((resolve) => receiver.close(resolve));
  }
}
