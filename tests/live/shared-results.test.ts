/**
 * Live results are executed once per event for every subscriber with the same document,
 * variables, unit and permissions (server/src/live/shared-results.ts). Sharing must never hand one
 * subscriber what another may see: two subscribers of one job whose permissions differ in a field
 * the document asks for each get their own answer, event after event, and subscribers with equal
 * permissions get equal ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '../support/server.js';
import { subscribe, type Subscription, type SubscriptionEvent } from '../support/subscriptions.js';
import { createUpgradeJob, expectSuccess, seedProduct, uploadFirmware } from '../support/fixtures.js';

const PROGRESS = `subscription($id: ID!) { jobProgress(jobId: $id) {
  statusCounts { toBePushed failed } product { productKey deviceCount } } }`;

let t: TestServer;
let jobId: string;
let otaOnly: TestUser;
let withDevices: TestUser[];
const open: Subscription[] = [];

beforeAll(async () => {
  t = await startTestServer({ engineEnabled: false, jobProgressIntervalMs: 50 });
  await seedProduct(t, 'shared', 6);
  const firmware = await uploadFirmware(t, { productKey: 'shared', name: 'Two', version: '2.0' });
  jobId = await createUpgradeJob(t, { firmwareId: firmware.id, scope: { allDevices: true } });
  otaOnly = await t.createUser({ permissions: ['OTA_READ'] });
  withDevices = [await t.createUser({ permissions: ['OTA_READ', 'DEVICE_READ'] }), await t.createUser({ permissions: ['OTA_READ', 'DEVICE_READ'] })];
});
afterAll(async () => {
  await Promise.all(open.map((s) => s.dispose()));
  await t?.close();
});

function follow(user: TestUser): Subscription {
  const subscription = subscribe({ url: t.server.wsUrl, query: PROGRESS, variables: { id: jobId }, connectionParams: t.connectionParams(user.token) });
  open.push(subscription);
  return subscription;
}

/** The next event whose failed count is `failed` (or whose errors say it cannot be read). */
async function nextWith(subscription: Subscription, failed: number): Promise<SubscriptionEvent & { kind: 'next' }> {
  for (;;) {
    const event = await subscription.next(30_000);
    expect(event.kind).toBe('next');
    const next = event as SubscriptionEvent & { kind: 'next' };
    if (next.errors || next.data?.jobProgress?.statusCounts.failed === failed) return next;
  }
}

describe('shared live results', () => {
  it('give each permission set its own answer, and equal permission sets equal answers', async () => {
    const a = follow(otaOnly);
    const [b1, b2] = withDevices.map(follow);
    for (let cancelled = 0; cancelled <= 2; cancelled++) {
      if (cancelled > 0) {
        const result = await t.gql(
          `mutation($input: CancelUpgradeInput!) { cancelUpgrade(input: $input) { __typename ... on MutationCancelUpgradeSuccess { data { notCancelled { deviceKey } } } ... on Error { message } } }`,
          { input: { jobId, deviceKeys: [`dev-000${cancelled}`] } },
        );
        expect(expectSuccess<{ notCancelled: unknown[] }>(result, 'cancelUpgrade').notCancelled).toEqual([]);
      }
      const [eventB1, eventB2] = await Promise.all([nextWith(b1, cancelled), nextWith(b2, cancelled)]);
      expect(eventB1.errors).toBeUndefined();
      expect(eventB1.data.jobProgress).toEqual({ statusCounts: { toBePushed: 6 - cancelled, failed: cancelled }, product: { productKey: 'shared', deviceCount: 6 } });
      expect(eventB2.data).toEqual(eventB1.data);
      // The subscriber without DEVICE_READ is told so, every time; it never gets the device count.
      const eventA = await a.next(30_000);
      expect(eventA.kind).toBe('next');
      const refused = eventA as SubscriptionEvent & { kind: 'next' };
      expect(JSON.stringify(refused.data ?? null)).not.toContain('deviceCount');
      expect(refused.errors?.map((e) => e.extensions?.code)).toContain('FORBIDDEN');
      expect(refused.errors?.[0].message).toContain('DEVICE_READ');
    }
  });
});
