/**
 * kill -9 of the server between commit and delivery loses nothing: a server process takes job
 * controls over HTTP while its dispatcher delivers to a slow receiver; it is killed with SIGKILL
 * mid-stream, with deliveries committed and not yet sent (some in flight). A new process on the same
 * database delivers every committed event — every acknowledged change among them — in order per
 * job, each verified; duplicates are only those the dead process had in flight.
 */
import { randomBytes } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { sql } from 'drizzle-orm';
import { queryRows } from '@updraft/server/db/sql.js';
import { inTransaction } from '@updraft/server/domain/transaction.js';
import { createWebhookEndpoint } from '@updraft/server/domain/webhooks/endpoints.js';
import { createTargetPolicy } from '@updraft/server/domain/webhooks/targets.js';
import { afterAll, describe, expect, it } from 'vitest';
import { usingPostgres } from '../support/database.js';
import { freePort, processWorkspace, serverProcess, setUpFleet, uniqueProductKey, upgradeJob, waitFor } from '../engine/support.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
});

describe.runIf(usingPostgres)('a server killed between commit and delivery', () => {
  it('loses no event: the next process delivers them all, in order per job', { timeout: 180_000 }, async () => {
    const workspace = await processWorkspace();
    cleanup.push(() => workspace.close());
    const { services } = workspace;
    const receiver = await startWebhookReceiver();
    cleanup.push(() => receiver.close());
    receiver.delayMs = 40;

    const setup = await setUpFleet(services, { productKey: uniqueProductKey('crash-hooks'), count: 3 });
    const { secret } = await inTransaction(services, (scope) =>
      createWebhookEndpoint(
        scope,
        setup.caller,
        { name: 'crash', url: receiver.url, eventTypes: ['job.created', 'job.status_changed'] },
        {
          ...services.webhooks,
          targets: createTargetPolicy(['127.0.0.1']),
        },
      ),
    );
    receiver.secrets.push(secret);
    const jobs = [];
    for (let i = 0; i < 4; i++) jobs.push(await upgradeJob(services, setup, { name: `crash job ${i}`, scope: { allDevices: true } }));

    const adminToken = `updraft_crash_${randomBytes(24).toString('base64url')}`;
    const env = {
      DATABASE_URL: workspace.databaseUrl,
      DATA_DIR: workspace.dataDir,
      ADMIN_TOKEN: adminToken,
      ENGINE: 'false',
      WEBHOOK_ALLOWED_TARGETS: '127.0.0.1',
      WEBHOOK_POLL_MS: '100',
      WEBHOOK_RETRY_BASE_MS: '100',
      WEBHOOK_RETRY_MAX_INTERVAL_MS: '500',
      WEBHOOK_TIMEOUT_MS: '1500',
    };
    const server = serverProcess(env, await freePort());
    cleanup.push(() => server.kill());
    await server.start();

    // Each job stopped and started in turn, as fast as the server answers; acknowledged ones counted.
    const acknowledged = new Map<string, number>(jobs.map((j) => [j.id, 0]));
    let killed = false;
    const drive = async (jobId: string) => {
      for (let n = 0; !killed; n++) {
        const action = n % 2 === 0 ? 'stopJob' : 'startJob';
        const answer = await fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
          body: JSON.stringify({ query: `mutation($id: ID!) { ${action}(id: $id) { __typename } }`, variables: { id: encodeGlobalID('OtaJob', jobId) } }),
        })
          .then((r) => r.json() as Promise<{ data?: Record<string, { __typename: string }> }>)
          .catch(() => null);
        if (answer?.data?.[action]?.__typename.endsWith('Success')) acknowledged.set(jobId, acknowledged.get(jobId)! + 1);
        else return;
      }
    };
    const drivers = jobs.map((j) => drive(j.id));
    await waitFor(() => receiver.received.length >= 20, { what: 'deliveries under way' });
    killed = true;
    await server.kill('SIGKILL');
    await Promise.all(drivers);

    const [state] = await queryRows<{ pending: number | string; in_flight: number | string; events: number | string }>(
      services.db,
      sql`select count(*) filter (where status = 'PENDING') as pending, count(*) filter (where lease_until > now()) as in_flight,
                 (select count(*) from webhook_events) as events
          from webhook_deliveries`,
    );
    const pendingAtKill = Number(state.pending);
    expect(pendingAtKill, 'deliveries committed but not delivered when the server died').toBeGreaterThan(0);
    const receivedAtKill = receiver.received.length;

    const restart = await server.start();
    const back = Date.now();
    await waitFor(
      async () => {
        const [left] = await queryRows<{ n: number | string }>(services.db, sql`select count(*) as n from webhook_deliveries where status <> 'SUCCEEDED'`);
        return Number(left.n) === 0;
      },
      { what: 'every delivery to succeed', timeoutMs: 60_000 },
    );
    const deliveredIn = Date.now() - back;

    // Every committed event arrived, verified, in order per job; none that was not committed.
    const events = await queryRows<{ id: number | string; job_id: string }>(services.db, sql`select id, job_id from webhook_events order by id`);
    const firstArrival = new Map<string, (typeof receiver.received)[number]>();
    for (const hook of receiver.received) if (!firstArrival.has(hook.id)) firstArrival.set(hook.id, hook);
    const messageId = (id: number | string) => `msg_${Number(id).toString(36).padStart(8, '0')}`;
    expect([...firstArrival.keys()].sort()).toEqual(events.map((e) => messageId(e.id)).sort());
    expect(receiver.received.every((r) => r.verifiedWith.length === 1)).toBe(true);
    for (const job of jobs) {
      const ofJob = events.filter((e) => e.job_id === job.id).map((e) => messageId(e.id));
      const arrived = [...firstArrival.values()].filter((h) => h.payload.data.job.id === encodeGlobalID('OtaJob', job.id)).map((h) => h.id);
      expect(arrived).toEqual(ofJob);
      // job.created + one event per committed control: every acknowledged one, and at most the one in flight.
      const changes = ofJob.length - 1;
      expect(changes).toBeGreaterThanOrEqual(acknowledged.get(job.id)!);
      expect(changes).toBeLessThanOrEqual(acknowledged.get(job.id)! + 1);
    }
    const duplicates = receiver.received.length - firstArrival.size;
    console.log(
      `webhooks kill -9: ${events.length} events (${[...acknowledged.values()].reduce((a, b) => a + b, 0)} acknowledged controls), ` +
        `${receivedAtKill} received before the kill, ${pendingAtKill} pending at the kill (${state.in_flight} in flight); ` +
        `restarted in ${restart} ms, all delivered ${deliveredIn} ms after; ${duplicates} duplicates`,
    );
    expect(duplicates).toBeLessThanOrEqual(Number(state.in_flight));
  });
});
