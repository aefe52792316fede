/**
 * PostgreSQL stopped mid-rollout (docs/operations.md, PostgreSQL away), on a private cluster of its
 * own (pg_createcluster): GraphQL requests fail fast with SERVICE_UNAVAILABLE, a 503 and
 * Retry-After, without the driver's words; devices get no answer (so no acknowledgement) while their
 * reports cannot be written (their reports wait, unacknowledged, in the gateway); firmware downloads
 * go on; once the database is back, everything resumes by itself within the bound, and every
 * upgraded device's report is in the database.
 */
import { encodeGlobalID } from '@pothos/plugin-relay';
import { sql } from 'drizzle-orm';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { queryRows } from '@updraft/server/db/sql.js';
import { deviceMqttCredentials, encodeRequest, otaTopic } from '@updraft/server/devices/protocol.js';
import { startFleet } from '@updraft/server/simulator/index.js';
import { usingPostgres } from '../support/database.js';
import { createPrivatePostgres } from '../support/private-services.js';
import { countByStatus, jobStatus, mqttUrlOf, setUpFleet, startEngineServer, tasksOf, uniqueProductKey, upgradeJob, waitFor } from '../engine/support.js';

const DEVICES = 120;
/** Requests fail within this long while the database is away; everything works again within it after its return. */
const BOUND_MS = 5000;
/** The database stays away this long (longer than a device's report timeout, so devices send again). */
const AWAY_MS = 8000;

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
});

describe.runIf(usingPostgres)('PostgreSQL away mid-rollout', () => {
  it('requests fail fast and typed; no report is answered unwritten; all resumes within 5 s of the return', { timeout: 240_000 }, async () => {
    const pg = await createPrivatePostgres();
    cleanup.push(() => pg.drop());
    const t = await startEngineServer({}, { databaseAdminUrl: pg.adminUrl });
    cleanup.push(() => t.close());
    // A failed assertion may leave the database stopped: start it before the server closes.
    cleanup.push(() => pg.start());
    const services = t.server.services;
    const metrics = t.server.services.metrics;

    const setup = await setUpFleet(services, { productKey: uniqueProductKey('pg'), count: DEVICES });
    const fleet = await startFleet({
      devices: setup.devices,
      mqttUrl: mqttUrlOf(t),
      upgradeSeconds: 1,
      rebootSeconds: 0.2,
      progressReports: 3,
      behaviour: 'writeFail=0.05',
      seed: 7,
    });
    cleanup.push(() => fleet.stop());
    await fleet.whenConnected(60_000);
    const job = await upgradeJob(services, setup, { scope: { allDevices: true }, maxConcurrency: 40 });
    const jobId = encodeGlobalID('OtaJob', job.id);
    const query = `query($id: ID!) { job(id: $id) { status statusCounts { succeeded failed } } }`;
    const post = async (body: object) => {
      const started = Date.now();
      const response = await fetch(t.server.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...t.defaultHeaders() },
        body: JSON.stringify(body),
      });
      return { ms: Date.now() - started, status: response.status, retryAfter: response.headers.get('retry-after'), text: await response.text() };
    };

    // A device of another product, outside the rollout, whose report is sent while the database is away.
    const probeFleet = await setUpFleet(services, { productKey: uniqueProductKey('pg-probe'), count: 1 });
    const probeSpec = probeFleet.devices[0];
    const probe = await mqtt.connectAsync(mqttUrlOf(t), {
      ...deviceMqttCredentials(probeSpec.productKey, probeSpec.deviceKey, probeSpec.secret),
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0,
    });
    cleanup.push(() => probe.endAsync(true));
    const probeVersion = async () =>
      (
        await queryRows<{ firmware_version: string }>(
          services.db,
          sql`select firmware_version from devices where device_key = ${probeSpec.deviceKey} and product_id = (select id from products where product_key = ${probeSpec.productKey})`,
        )
      )[0]?.firmware_version;

    await waitFor(async () => ((await countByStatus(services, job.id)).SUCCEEDED ?? 0) >= 20, { what: '20 devices upgraded', timeoutMs: 90_000 });
    await pg.stop();
    const stoppedAt = Date.now();
    // What was committed before the stop may still be answered in the next moment; after that, nothing.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const receivedAtStop = fleet.stats.messagesReceived;
    const sentAtStop = fleet.stats.messagesSent;
    let probeAckedAt = 0;
    const probeAck = probe
      .publishAsync(otaTopic(probeSpec.productKey, probeSpec.deviceKey, 'inform'), encodeRequest('inform', 'probe-1', { version: '1.0.1' }), { qos: 1 })
      .then(() => (probeAckedAt = Date.now()));

    // A query, an authenticated mutation and readiness while the database is away.
    const read = await post({ query, variables: { id: jobId } });
    const write = await post({
      query: `mutation($input: EditJobInput!) { editJob(input: $input) { __typename } }`,
      variables: { input: { jobId, maxConcurrency: 50 } },
    });
    for (const answer of [read, write]) {
      expect(answer.ms).toBeLessThan(BOUND_MS);
      expect(answer.status).toBe(503);
      expect(Number(answer.retryAfter)).toBeGreaterThan(0);
      const body = JSON.parse(answer.text) as { errors: { message: string; extensions: { code: string } }[] };
      expect(body.errors.map((e) => e.extensions.code)).toContain('SERVICE_UNAVAILABLE');
      // None of the driver's words: no address, port, errno or SQLSTATE text.
      expect(answer.text).not.toMatch(/ECONN|127\.0\.0\.1|connect|postgres|terminat|57P0|shutdown/i);
    }
    const readyStarted = Date.now();
    const ready = await fetch(`${t.server.url}/readyz`);
    const readyBody = await ready.text();
    expect(Date.now() - readyStarted).toBeLessThan(BOUND_MS);
    expect(ready.status).toBe(503);
    expect(JSON.parse(readyBody)).toMatchObject({ status: 'unavailable', dependencies: { database: 'down', broker: 'ok' } });
    expect(readyBody).not.toMatch(/ECONN|127\.0\.0\.1|connect /i);
    expect((await fetch(`${t.server.url}/healthz`)).status).toBe(200);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, AWAY_MS - (Date.now() - stoppedAt))));
    // Nothing was answered or acknowledged that could not be written: not the probe's report, not a device's.
    const sentWhileAway = fleet.stats.messagesSent - sentAtStop;
    const answeredWhileAway = fleet.stats.messagesReceived - receivedAtStop;
    expect(probeAckedAt).toBe(0);
    expect(answeredWhileAway).toBe(0);

    // The database is back when pg_ctlcluster says so (it may answer a moment before): times are from then.
    await pg.start();
    const backAt = Date.now();
    const resumed = { query: 0, reports: 0, ready: 0 };
    const writtenAtReturn = await metrics.value('updraft_reports_written_total');
    await waitFor(
      async () => {
        const now = Date.now() - backAt;
        if (!resumed.query && (await post({ query, variables: { id: jobId } })).status === 200) resumed.query = now;
        if (!resumed.reports && (await metrics.value('updraft_reports_written_total')) > writtenAtReturn) resumed.reports = now;
        if (!resumed.ready && (await fetch(`${t.server.url}/readyz`)).status === 200) resumed.ready = now;
        return resumed.query && resumed.reports && resumed.ready;
      },
      { what: 'queries, reports and readiness to resume', timeoutMs: 30_000 },
    );
    // The probe's report: acknowledged once written, and written.
    await probeAck;
    const probeAckMs = Math.max(0, probeAckedAt - backAt);
    expect(await probeVersion()).toBe('1.0.1');
    expect(Math.max(resumed.query, resumed.reports, resumed.ready, probeAckMs)).toBeLessThanOrEqual(BOUND_MS);

    await waitFor(async () => (await jobStatus(services, job.id)).status === 'FINISHED', {
      what: 'the job to finish',
      timeoutMs: 120_000,
      describe: () => countByStatus(services, job.id),
    });
    const finishedMs = Date.now() - backAt;
    const tasks = await tasksOf(services, job.id);
    // Downloads went on while the database was away (the firmware was served as last read).
    expect(fleet.stats.downloadFailed).toBe(0);
    const disagreements = setup.devices.filter((d) => (fleet.device(d.deviceKey)!.version === '2.0.0') !== (tasks.get(d.deviceKey)!.status === 'SUCCEEDED'));
    expect(disagreements.map((d) => d.deviceKey)).toEqual([]);
    const counts = await countByStatus(services, job.id);
    expect((counts.SUCCEEDED ?? 0) + (counts.FAILED ?? 0)).toBe(DEVICES);
    expect(counts.SUCCEEDED).toBe(fleet.stats.succeeded);
    expect(await metrics.value('updraft_reports_dropped_total')).toBe(0);

    console.log(
      `[measure] postgres away ${((backAt - stoppedAt) / 1000).toFixed(1)} s mid-rollout (${DEVICES} devices): query failed in ${read.ms} ms, mutation in ${write.ms} ms (503, Retry-After ${read.retryAfter}); ` +
        `${sentWhileAway} device messages sent while away, ${answeredWhileAway} answered; the probe's report acknowledged ${probeAckMs} ms after the return; after the return: query ok in ${resumed.query} ms, reports written again in ${resumed.reports} ms, ready in ${resumed.ready} ms, job finished in ${finishedMs} ms; ` +
        `device messages sent ${fleet.stats.messagesSent}, reports written ${await metrics.value('updraft_reports_written_total')}, dropped ${await metrics.value('updraft_reports_dropped_total')}; final ${JSON.stringify(counts)}, fleet succeeded ${fleet.stats.succeeded}`,
    );
  });
});
