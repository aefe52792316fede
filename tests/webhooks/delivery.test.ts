/**
 * Webhooks end to end, against a real HTTP receiver on 127.0.0.1 that verifies every signature with
 * the standardwebhooks library: payloads that match their JSON Schema and name API global IDs,
 * order per job, a receiver that goes away and comes back, nothing for a rolled-back change,
 * secret rotation, SSRF refusals, redirects and big answers, an endpoint disabled after sustained
 * failure and what its admins see, redelivery and replay.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { allPayloadSchemas } from '@updraft/server/domain/webhooks/event-types.js';
import { createUpgradeJob as createUpgradeJobInDomain } from '@updraft/server/domain/jobs/create.js';
import { inTransaction } from '@updraft/server/domain/transaction.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProduct, createUpgradeJob, expectSuccess, rawId, registerDevices, uploadFirmware } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { eventually, type ReceivedWebhook, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const ajv = new Ajv2020({ allErrors: true, strict: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const validatePayload = ajv.compile(allPayloadSchemas());

let t: TestServer;
let receiver: WebhookReceiver;
let firmwareId: string;
const productKey = 'hooks-meter';

const ENDPOINT_FIELDS = `id name url eventTypes enabled status disabledReason disabledAt failingSince consecutiveFailures pendingDeliveries
  lastSuccessAt previousSecretExpiresAt`;

async function createEndpoint(input: Record<string, unknown>): Promise<{ id: string; secret: string }> {
  const result = await t.gql(
    `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
       __typename ... on MutationCreateWebhookEndpointSuccess { data { secret endpoint { id } } } ... on Error { message } } }`,
    { input },
  );
  const data = expectSuccess<{ secret: string; endpoint: { id: string } }>(result, 'createWebhookEndpoint');
  return { id: data.endpoint.id, secret: data.secret };
}

async function endpoint(id: string) {
  const result = await t.gql(`query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { ${ENDPOINT_FIELDS} } } }`, { id });
  return result.data.node;
}

async function control(action: 'stopJob' | 'startJob' | 'cancelJob', jobId: string) {
  const result = await t.gql(`mutation($id: ID!) { ${action}(id: $id) { __typename ... on Error { message } } }`, { id: jobId });
  expect(result.data?.[action]?.__typename, JSON.stringify(result)).toMatch(/Success$/);
}

const ofJob = (list: ReceivedWebhook[], jobId: string) => list.filter((r) => r.payload.data?.job?.id === jobId);
const changes = (list: ReceivedWebhook[]) => list.filter((r) => r.payload.type === 'job.status_changed').map((r) => r.payload.data.change);
const messageNumber = (id: string) => Number.parseInt(id.slice('msg_'.length), 36);

beforeAll(async () => {
  t = await startTestServer({
    webhookAllowedTargets: ['127.0.0.1'],
    webhookPollMs: 100,
    webhookRetryBaseMs: 100,
    webhookRetryMaxIntervalMs: 400,
    webhookTimeoutMs: 2000,
    webhookDisableAfterMs: 4000,
    webhookProgressIntervalMs: 300,
  });
  receiver = await startWebhookReceiver();
  await createProduct(t, productKey);
  await registerDevices(t, productKey, [
    { deviceKey: 'hooks-1', firmwareVersion: '1.0.0' },
    { deviceKey: 'hooks-2', firmwareVersion: '1.0.0' },
  ]);
  firmwareId = (await uploadFirmware(t, { productKey, name: 'hooks-fw', version: '2.0.0' })).id;
});

afterAll(async () => {
  await receiver?.close();
  await t?.close();
});

describe('delivery', () => {
  let endpointId: string;

  it('signs every delivery (Standard Webhooks), with payloads that match their schema and name API global IDs, in order per job', async () => {
    const created = await createEndpoint({ name: 'all events', url: receiver.url, eventTypes: ['job.created', 'job.status_changed', 'job.progress'] });
    endpointId = created.id;
    receiver.secrets.splice(0, receiver.secrets.length, created.secret);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);

    const jobId = await createUpgradeJob(t, { firmwareId, name: 'hooks job 1', scope: { allDevices: true } });
    await control('stopJob', jobId);
    await control('startJob', jobId);
    await control('cancelJob', jobId);

    const mine = await eventually(() => {
      const list = ofJob(receiver.received, jobId);
      return changes(list).length === 3 && list.some((r) => r.payload.type === 'job.progress') && list;
    }, 'the job events');
    for (const hook of receiver.received) {
      expect(hook.verifiedWith, hook.body).toEqual([0]);
      expect(validatePayload(hook.payload), JSON.stringify(validatePayload.errors)).toBe(true);
      expect(Math.abs(hook.timestamp * 1000 - hook.receivedAt)).toBeLessThan(10_000);
    }
    const lifecycle = mine.filter((r) => r.payload.type !== 'job.progress');
    expect(lifecycle.map((r) => r.payload.type)).toEqual(['job.created', 'job.status_changed', 'job.status_changed', 'job.status_changed']);
    expect(changes(mine)).toEqual(['STOPPED', 'RESUMED', 'CANCELLED']);
    expect(lifecycle.map((r) => r.payload.data.job.status)).toEqual(['RUNNING', 'STOPPED', 'RUNNING', 'CANCELLED']);
    // Ids in commit order, and delivered in that order.
    const numbers = lifecycle.map((r) => messageNumber(r.id));
    expect([...numbers].sort((a, b) => a - b)).toEqual(numbers);

    // The payload's global IDs are the API's.
    const created0 = lifecycle[0].payload.data;
    const node = await t.gql(
      `query($ids: [ID!]!) { nodes(ids: $ids) { id ... on OtaJob { name } ... on Firmware { version } ... on Product { productKey } } }`,
      {
        ids: [created0.job.id, created0.job.firmware.id, created0.job.product.id],
      },
    );
    expect(node.data.nodes).toEqual([
      { id: jobId, name: 'hooks job 1' },
      { id: firmwareId, version: '2.0.0' },
      { id: created0.job.product.id, productKey },
    ]);
    const progress = mine.find((r) => r.payload.type === 'job.progress')!;
    expect(progress.payload.data.deviceCount).toBe(2);

    // The delivery log says the same (job.progress may still come while it is read: compare what was received before).
    const receivedBefore = receiver.received.slice();
    const log = await t.gql(
      `query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { status lastSuccessAt
          deliveries(first: 50) { totalCount nodes { id messageId eventType status attempts responseStatus latencyMs error deliveredAt trigger payload
            attemptLog { responseStatus latencyMs error } } } } } }`,
      { id: endpointId },
    );
    const page = log.data.node.deliveries;
    expect(log.data.node.status).toBe('ACTIVE');
    const receivedIds = receivedBefore.map((r) => r.id);
    expect(new Set(receivedIds).size, 'no duplicates').toBe(receivedIds.length);
    expect(page.totalCount).toBeGreaterThanOrEqual(receivedBefore.length);
    expect(receivedIds.every((id) => page.nodes.some((n: { messageId: string }) => n.messageId === id))).toBe(true);
    for (const delivery of page.nodes.filter((n: { messageId: string }) => receivedIds.includes(n.messageId))) {
      expect(delivery).toMatchObject({ status: 'SUCCEEDED', attempts: 1, responseStatus: 204, error: null, trigger: 'EVENT' });
      expect(delivery.latencyMs).toBeGreaterThanOrEqual(0);
      expect(delivery.attemptLog).toHaveLength(1);
      expect(receiver.received.find((r) => r.id === delivery.messageId)?.body).toBe(delivery.payload);
    }
  });

  it('delivers everything in order per job after the receiver was down, once it is back', async () => {
    const jobs = [
      await createUpgradeJob(t, { firmwareId, name: 'outage job A', scope: { allDevices: true } }),
      await createUpgradeJob(t, { firmwareId, name: 'outage job B', scope: { allDevices: true } }),
    ];
    await eventually(() => jobs.every((job) => ofJob(receiver.received, job).length > 0), 'both jobs created');
    const before = receiver.received.length;
    await receiver.down();
    const expected = new Map<string, string[]>(jobs.map((job) => [job, []]));
    for (let round = 0; round < 3; round++) {
      for (const job of jobs) {
        await control('stopJob', job);
        await control('startJob', job);
        expected.get(job)!.push('STOPPED', 'RESUMED');
      }
    }
    // Failing now: attempts are logged, the endpoint says so.
    const failing = await eventually(async () => {
      const e = await endpoint(endpointId);
      return e.status === 'FAILING' && e.consecutiveFailures >= 2 && e;
    }, 'the endpoint to be failing');
    expect(failing.pendingDeliveries).toBeGreaterThanOrEqual(12);
    const pending = await t.gql(
      `query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { deliveries(status: PENDING, first: 50) { nodes { attempts error nextAttemptAt } } } } }`,
      { id: endpointId },
    );
    const tried = pending.data.node.deliveries.nodes.find((n: { attempts: number }) => n.attempts > 0);
    expect(tried.error).toMatch(/ECONNREFUSED/);
    await new Promise((resolve) => setTimeout(resolve, 1000));

    await receiver.up();
    const back = Date.now();
    await eventually(() => jobs.every((job) => changes(ofJob(receiver.received, job)).length >= 6), 'every change after the outage', 20_000);
    const after = receiver.received.slice(before);
    const delay = Math.max(...after.map((r) => r.receivedAt)) - back;
    for (const job of jobs) {
      const got = ofJob(after, job).filter((r) => r.payload.type === 'job.status_changed');
      expect(got.map((r) => r.payload.data.change)).toEqual(expected.get(job));
      const numbers = got.map((r) => messageNumber(r.id));
      expect([...numbers].sort((a, b) => a - b)).toEqual(numbers);
    }
    const ids = after.map((r) => r.id);
    const duplicates = ids.length - new Set(ids).size;
    console.log(`webhooks outage: ${after.length} deliveries after the receiver came back, all within ${delay} ms, ${duplicates} duplicates`);
    expect(after.every((r) => r.verifiedWith.length === 1)).toBe(true);
    expect((await endpoint(endpointId)).status).toBe('ACTIVE');
  });

  it('delivers nothing for a rolled-back change, whether the domain code or the commit fails', async () => {
    const before = receiver.received.length;
    await expect(
      inTransaction(t.server.services, async (scope) => {
        await createUpgradeJobInDomain(scope, t.server.adminCaller, {
          firmwareId: rawId(firmwareId),
          name: 'rolled back in code',
          scope: { allDevices: true },
        });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    // A constraint checked at commit: the mutation's transaction fails after every statement ran.
    await t.server.services.database.rawQuery(`
      create function fail_named_job() returns trigger language plpgsql as $$
      begin if new.name = 'rolled back at commit' then raise exception 'refused at commit'; end if; return new; end $$`);
    await t.server.services.database.rawQuery(`
      create constraint trigger fail_named_job after insert on ota_jobs deferrable initially deferred
      for each row execute function fail_named_job()`);
    const refused = await t.gql(`mutation($input: CreateUpgradeJobInput!) { createUpgradeJob(input: $input) { __typename } }`, {
      input: { firmwareId, name: 'rolled back at commit', scope: { allDevices: true } },
    });
    expect(refused.errors?.[0]?.message).toBe('Unexpected error.');
    const marker = await createUpgradeJob(t, { firmwareId, name: 'committed after the rollbacks', scope: { allDevices: true } });
    await eventually(() => ofJob(receiver.received, marker).length > 0, 'the committed job');
    const names = receiver.received.slice(before).map((r) => r.payload.data.job?.name);
    expect(names).not.toContain('rolled back in code');
    expect(names).not.toContain('rolled back at commit');
    const stored = await t.server.services.database.rawQuery<{ n: string | number }>(
      `select count(*) as n from webhook_events where data->>'name' in ('rolled back in code', 'rolled back at commit')`,
    );
    expect(Number(stored[0].n)).toBe(0);
  });

  it('signs with both secrets during a rotation, then with the new one alone', async () => {
    const rotate = async (overlapMinutes: number) =>
      expectSuccess<{ secret: string; endpoint: { previousSecretExpiresAt: string | null } }>(
        await t.gql(
          `mutation($input: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $input) { __typename
             ... on MutationRotateWebhookSecretSuccess { data { secret endpoint { previousSecretExpiresAt } } } } }`,
          { input: { id: endpointId, overlapMinutes } },
        ),
        'rotateWebhookSecret',
      );
    const old = receiver.secrets[0];
    const rotated = await rotate(60);
    expect(rotated.secret).not.toBe(old);
    expect(Date.parse(rotated.endpoint.previousSecretExpiresAt!) - Date.now()).toBeGreaterThan(59 * 60_000);
    receiver.secrets.splice(0, receiver.secrets.length, old, rotated.secret);
    const job = await createUpgradeJob(t, { firmwareId, name: 'rotation job', scope: { allDevices: true } });
    const during = await eventually(() => ofJob(receiver.received, job).find((r) => r.payload.type === 'job.created'), 'a delivery during the overlap');
    expect(during.verifiedWith).toEqual([0, 1]);
    expect(during.signature.split(' ')).toHaveLength(2);

    const next = await rotate(0);
    receiver.secrets.splice(0, receiver.secrets.length, rotated.secret, next.secret);
    expect(next.endpoint.previousSecretExpiresAt).toBeNull();
    await control('stopJob', job);
    const after = await eventually(() => ofJob(receiver.received, job).find((r) => r.payload.type === 'job.status_changed'), 'a delivery after the rotation');
    expect(after.verifiedWith).toEqual([1]);
  });

  it('refuses targets that are not http(s) or resolve to private addresses the allow-list does not name', async () => {
    const refusal = async (url: string) => {
      const result = await t.gql(
        `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { __typename ... on InvalidInputError { issues { path message } } } }`,
        { input: { name: 'bad', url, eventTypes: ['job.created'] } },
      );
      expect(result.data.createWebhookEndpoint.__typename, url).toBe('InvalidInputError');
      return result.data.createWebhookEndpoint.issues[0].message as string;
    };
    expect(await refusal('ftp://127.0.0.1/')).toMatch(/http or https/);
    expect(await refusal('http://user:secret@127.0.0.1/')).toMatch(/credentials/);
    expect(await refusal(`http://127.0.0.2:${receiver.port}/`)).toMatch(/127\.0\.0\.2.*WEBHOOK_ALLOWED_TARGETS/);
    expect(await refusal('http://10.1.2.3/')).toMatch(/private/);
    expect(await refusal('http://169.254.169.254/latest/meta-data')).toMatch(/169\.254\.169\.254/);
    expect(await refusal('http://[::1]/')).toMatch(/::1/);
    expect(await refusal('http://[::ffff:10.0.0.1]/')).toMatch(/private/);
    expect(await refusal('http://[fd00::1]/')).toMatch(/private/);
    expect(await refusal('not a url')).toMatch(/not a URL/);
    const unknownType = await t.gql(
      `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { __typename ... on InvalidInputError { message } } }`,
      { input: { name: 'bad', url: receiver.url, eventTypes: ['job.exploded'] } },
    );
    expect(unknownType.data.createWebhookEndpoint.message).toMatch(/unknown event type "job.exploded"/);
  });
});

describe('receivers that misbehave', () => {
  let other: WebhookReceiver;
  let otherEndpoint: string;

  beforeAll(async () => {
    other = await startWebhookReceiver();
    const created = await createEndpoint({ name: 'misbehaving', url: other.url, eventTypes: ['job.created', 'job.status_changed'] });
    otherEndpoint = created.id;
    other.secrets.push(created.secret);
  });
  afterAll(() => other.close());

  const lastDelivery = async () =>
    (
      await t.gql(
        `query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { deliveries(first: 1) { nodes { status attempts error responseStatus attemptLog { responseStatus responseBody error } } } } } }`,
        { id: otherEndpoint },
      )
    ).data.node.deliveries.nodes[0];

  it('does not follow redirects, and reads a big answer only up to the limit', async () => {
    other.answer = () => ({ status: 302, headers: { location: 'http://example.com/elsewhere' } });
    const job = await createUpgradeJob(t, { firmwareId, name: 'redirected job', scope: { allDevices: true } });
    await eventually(async () => (await lastDelivery())?.attempts >= 2, 'two attempts');
    const redirected = await lastDelivery();
    expect(redirected.status).toBe('PENDING');
    expect(redirected.error).toBe('redirect not followed (302 to http://example.com/elsewhere)');
    expect(other.received.every((r) => r.path === '/hooks')).toBe(true);

    other.answer = () => ({ status: 200, body: 'x'.repeat(1_000_000) });
    const done = await eventually(async () => {
      const d = await lastDelivery();
      return d.status === 'SUCCEEDED' && d;
    }, 'the delivery to succeed');
    expect(done.attemptLog[0].responseStatus).toBe(200);
    expect(done.attemptLog[0].responseBody.length).toBe(4096);
    expect(ofJob(other.received, job).length).toBeGreaterThanOrEqual(3);
  });

  it('disables an endpoint after sustained failure, says so, and replays what it missed once enabled again', async () => {
    other.answer = 500;
    const job = await createUpgradeJob(t, { firmwareId, name: 'failing receiver job', scope: { allDevices: true } });
    const disabled = await eventually(
      async () => {
        const e = await endpoint(otherEndpoint);
        return e.status === 'DISABLED' && e;
      },
      'the endpoint to be disabled',
      20_000,
    );
    expect(disabled.enabled).toBe(false);
    expect(disabled.disabledReason).toMatch(/^No successful delivery since .* failed attempts; last: HTTP 500\)/);
    // Changes while it is disabled are kept for a replay, not sent.
    await control('stopJob', job);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const countWhileDisabled = ofJob(other.received, job).length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(ofJob(other.received, job).length).toBe(countWhileDisabled);

    other.answer = 200;
    const enabled = await t.gql(
      `mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) { __typename ... on MutationUpdateWebhookEndpointSuccess { data { status disabledReason } } } }`,
      { input: { id: otherEndpoint, enabled: true } },
    );
    expect(enabled.data.updateWebhookEndpoint.data).toEqual({ status: 'ACTIVE', disabledReason: null });
    // The job.created that was pending goes out at once; the stop it never queued comes with a replay.
    await eventually(() => ofJob(other.received, job).some((r) => r.payload.type === 'job.created' && r.verifiedWith.length === 1), 'the pending delivery');
    expect(changes(ofJob(other.received, job))).toEqual([]);
    const replay = await t.gql(
      `mutation($input: ReplayWebhookEventsInput!) { replayWebhookEvents(input: $input) { __typename ... on MutationReplayWebhookEventsSuccess { data { deliveriesQueued } } } }`,
      { input: { endpointId: otherEndpoint, since: disabled.disabledAt, eventTypes: ['job.status_changed'] } },
    );
    expect(replay.data.replayWebhookEvents.data.deliveriesQueued).toBeGreaterThanOrEqual(1);
    const stopped = await eventually(() => ofJob(other.received, job).find((r) => r.payload.type === 'job.status_changed'), 'the replayed stop');
    expect(stopped.payload.data.change).toBe('STOPPED');

    // redeliverWebhook: the same event (same webhook-id) again, as a new delivery.
    const last = (
      await t.gql(`query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { deliveries(first: 1, status: SUCCEEDED) { nodes { id messageId } } } } }`, {
        id: otherEndpoint,
      })
    ).data.node.deliveries.nodes[0];
    const redelivered = await t.gql(
      `mutation($id: ID!) { redeliverWebhook(id: $id) { __typename ... on MutationRedeliverWebhookSuccess { data { id messageId trigger } } } }`,
      { id: last.id },
    );
    expect(redelivered.data.redeliverWebhook.data).toMatchObject({ messageId: last.messageId, trigger: 'REDELIVERY' });
    await eventually(() => other.received.filter((r) => r.id === last.messageId).length >= 2, 'the redelivery');
  });
});
