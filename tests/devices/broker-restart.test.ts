/**
 * The external broker dies (kill -9) in the middle of a rollout and comes back 3 s later: the
 * gateway reconnects and subscribes again by itself, every report a device sent once the gateway
 * was subscribed again is answered (and the few published in the gap before are recovered by the
 * re-push), every acknowledged report is in the database, no device is pushed more than twice for
 * one attempt, and the job finishes. A private Mosquitto with persistence (the gateway's
 * sessions survive its restart; INSTANCE_ID makes them persistent); a watcher with a persistent
 * session of its own records every request, reply and push.
 */
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { interpretProgressStep, parseOtaTopic } from '@updraft/server/devices/protocol.js';
import { type Fleet, startFleet } from '@updraft/server/simulator/index.js';
import { usingPostgres } from '../support/database.js';
import { startMosquitto } from '../support/mosquitto.js';
import { allFinal, countByStatus, setUpFleet, startEngineServer, tasksOf, uniqueProductKey, upgradeJob, waitFor } from '../engine/support.js';

const DEVICES = 120;
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
});

interface Request {
  kind: string;
  params: { version?: string; step?: string };
  seenAt: number;
  code?: number;
}

describe.runIf(usingPostgres)('broker restart mid-rollout', () => {
  it('reconnects, answers every report sent after the return, loses nothing acknowledged, finishes', { timeout: 180_000 }, async () => {
    const broker = await startMosquitto({ persistence: true });
    cleanup.push(() => broker.close());
    const a = await startEngineServer({
      mqttUrl: broker.url,
      mqttShareGroup: 'restart',
      mqttConnections: 2,
      instanceId: `restart-${randomBytes(3).toString('hex')}`,
      repushAfterMs: 5000,
    });
    cleanup.push(() => a.close());
    const { services } = a.server;
    const setup = await setUpFleet(services, { productKey: uniqueProductKey('restart'), count: DEVICES, firmwareBytes: 16 * 1024 });

    const requests = new Map<string, Request>(); // `${dk}/${id}`
    const pushTimes = new Map<string, number[]>(); // `${dk}/${push id}` → when the watcher saw it
    const watcher = await mqtt.connectAsync(broker.url, {
      clientId: `watch-${randomBytes(3).toString('hex')}`,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 300 },
      // Reconnected by hand the moment the broker is back, before the gateway and the devices.
      reconnectPeriod: 0,
    });
    cleanup.push(() => watcher.endAsync(true));
    watcher.on('message', (topic, payload) => {
      const parsed = parseOtaTopic(topic);
      if (!parsed || parsed.kind === 'presence') return;
      const body = JSON.parse(payload.toString()) as { id: string; code?: number; params?: Request['params'] };
      const key = `${parsed.deviceKey}/${body.id}`;
      if (parsed.kind === 'upgrade' && !parsed.isReply) pushTimes.set(key, [...(pushTimes.get(key) ?? []), Date.now()]);
      else if (parsed.isReply && parsed.kind !== 'upgrade' && parsed.kind !== 'cancel') {
        const request = requests.get(key);
        if (request) request.code = body.code;
      } else if (!parsed.isReply && parsed.kind !== 'cancel') {
        if (!requests.has(key)) requests.set(key, { kind: parsed.kind, params: body.params ?? {}, seenAt: Date.now() });
      }
    });
    await watcher.subscribeAsync(`/sys/${setup.productKey}/+/ota/device/#`, { qos: 1 });

    const fleet: Fleet = await startFleet({
      devices: setup.devices,
      mqttUrl: broker.url,
      behaviour: { writeFail: 0.05, downloadFail: 0.03 },
      upgradeSeconds: 3,
      rebootSeconds: 0.5,
      progressReports: 5,
      seed: 12,
    });
    cleanup.push(() => fleet.stop());
    await fleet.whenConnected(30_000);

    const job = await upgradeJob(services, setup, { scope: { allDevices: true }, maxConcurrency: 60, timeoutMinutes: 600 });
    await waitFor(async () => ((await countByStatus(services, job.id)).SUCCEEDED ?? 0) >= DEVICES * 0.3, {
      what: '30% done',
      timeoutMs: 60_000,
      describe: () => countByStatus(services, job.id),
    });

    await broker.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const returnedAt = Date.now();
    await broker.start();
    watcher.reconnect();
    // The gateway is back once every member is subscribed again. Mosquitto does not restore shared
    // subscriptions from its persistence, so what devices publish before that has no subscriber.
    const transport = a.server.rollout.gateway!.transport;
    await waitFor(() => transport.connectedForMs() > 0, { what: 'the gateway subscribed again', timeoutMs: 10_000 });
    const gatewayBackAt = Date.now();
    const atReturn = await countByStatus(services, job.id);
    const finalAtReturn = (atReturn.SUCCEEDED ?? 0) + (atReturn.FAILED ?? 0);
    const firstAnswer = await waitFor(() => [...requests.values()].find((r) => r.seenAt >= returnedAt && r.code !== undefined), {
      what: 'a report answered after the return',
      timeoutMs: 30_000,
    });
    const answeringMs = Date.now() - returnedAt;
    await waitFor(
      async () => {
        const now = await countByStatus(services, job.id);
        return (now.SUCCEEDED ?? 0) + (now.FAILED ?? 0) > finalAtReturn;
      },
      { what: 'tasks finishing after the return', timeoutMs: 30_000 },
    );
    const finishingMs = Date.now() - returnedAt;
    await waitFor(async () => allFinal(await countByStatus(services, job.id)), {
      what: 'every task final',
      timeoutMs: 90_000,
      describe: async () => [await countByStatus(services, job.id), fleet.stats],
    });
    const allFinalMs = Date.now() - returnedAt;

    // Every request seen once the gateway was back is answered (replies may still be on their way).
    const unanswered = () => [...requests].filter(([, r]) => r.seenAt >= gatewayBackAt && r.code === undefined);
    const inTheGap = [...requests.values()].filter((r) => r.seenAt >= returnedAt && r.seenAt < gatewayBackAt);
    await waitFor(() => unanswered().length === 0, { what: 'every report after the return answered', timeoutMs: 10_000 }).catch(() => {});
    expect(unanswered().slice(0, 10)).toEqual([]);
    expect(firstAnswer).toBeTruthy();

    const tasks = await tasksOf(services, job.id);
    expect(tasks.size).toBe(DEVICES);
    const disagreements = setup.devices.filter((d) => (fleet.device(d.deviceKey)!.version === '2.0.0') !== (tasks.get(d.deviceKey)!.status === 'SUCCEEDED'));
    expect(disagreements.map((d) => [d.deviceKey, tasks.get(d.deviceKey)])).toEqual([]);

    // Every acknowledged (200) report is in the database.
    let acknowledged = 0;
    const lost: string[] = [];
    for (const [key, r] of requests) {
      if (r.code !== 200) continue;
      acknowledged++;
      const task = tasks.get(key.split('/')[0])!;
      const outcome = r.kind === 'progress' && r.params.step !== undefined ? interpretProgressStep(r.params.step) : null;
      if (r.kind === 'inform' && r.params.version === '2.0.0' && task.status !== 'SUCCEEDED') lost.push(`${key}: inform 2.0.0, task ${task.status}`);
      if (outcome?.kind === 'failed' && !(task.status === 'FAILED' && task.failure_reason === outcome.reason))
        lost.push(`${key}: step ${r.params.step}, task ${task.status}`);
    }
    expect(lost).toEqual([]);
    // Pushes per attempt (a push id is one attempt; the re-push repeats it). The gateway's MQTT client
    // sends again what the broker had not acknowledged when it died, once it is back: the same
    // message delivered twice, not a second push, counted apart.
    const redelivered = (times: number[]) => times.filter((t, i) => i > 0 && times[0] < returnedAt && t >= returnedAt && t < gatewayBackAt + 2000).length;
    const pushCounts = [...pushTimes].map(([key, times]) => [key, times.length - redelivered(times)] as const);
    const redeliveries = [...pushTimes.values()].reduce((n, times) => n + redelivered(times), 0);
    const maxPushes = Math.max(...pushCounts.map(([, n]) => n));
    expect(pushCounts.filter(([, n]) => n > 2).map(([key]) => [key, pushTimes.get(key)!.map((t) => t - returnedAt)])).toEqual([]);

    const sentAfter = [...requests.values()].filter((r) => r.seenAt >= gatewayBackAt).length;
    const reconnects = await (await fetch(`${a.server.url}/metrics`)).text();
    console.log(
      `[measure] broker restart (${DEVICES} devices, maxConcurrency 60, broker down 3 s): gateway subscribed ${gatewayBackAt - returnedAt} ms ` +
        `after the return, answering ${answeringMs} ms after; ` +
        `tasks finishing ${finishingMs} ms after, all final ${(allFinalMs / 1000).toFixed(1)} s after; requests seen ${requests.size}, ` +
        `in the gap before the gateway subscribed ${inTheGap.length} (${inTheGap.filter((r) => r.code === undefined).length} never answered), ` +
        `after it ${sentAfter}, unanswered after it ${unanswered().length}; acknowledged ${acknowledged}, lost 0; ` +
        `max pushes per attempt ${maxPushes} (and ${redeliveries} pushes delivered again by the MQTT client after the return); ${/^updraft_mqtt_sessions_lost_total \d+$/m.exec(reconnects)?.[0] ?? 'sessions lost 0'}`,
    );
  });
});
