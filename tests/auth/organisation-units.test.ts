/**
 * Further organisation units, created by the server's operator (`ou:create`): the new unit's
 * administrator manages it and sees nothing of the others.
 */
import { createOrganisationUnit } from '@updraft/server/auth/organisation-units.js';
import { createEventBus } from '@updraft/server/events/bus.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { createProduct } from '../support/fixtures.js';
import { bearer, startTestServer, type TestServer } from '../support/server.js';
import { post } from './browser.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

it('creates a unit whose administrator manages it and sees nothing of the others', async () => {
  await createProduct(t, 'default-unit-meter');
  const created = await createOrganisationUnit(t.server.services, { name: 'Acme', adminUsername: 'Acme-Admin', adminPassword: 'acme admin password' });
  const answer = await post(
    t.server.graphqlUrl,
    '{ me { user { username } organisationUnit { name } permissions } products { productKey } users { username } }',
    {},
    bearer(created.adminToken),
  );
  expect(answer.data).toEqual({
    me: { user: { username: 'acme-admin' }, organisationUnit: { name: 'Acme' }, permissions: expect.arrayContaining(['OU_ADMIN', 'OTA_CONTROL']) },
    products: [],
    users: [{ username: 'acme-admin' }],
  });
  await expect(createOrganisationUnit(t.server.services, { name: 'Acme', adminUsername: 'someone-else' })).rejects.toThrow(
    'A unit with name "Acme" already exists',
  );
});

it('refuses before the server ever started, which would leave the first unit without its admin', async () => {
  const empty = await createTestDatabase();
  try {
    await expect(createOrganisationUnit({ db: empty.handle.db, events: createEventBus() }, { name: 'Early', adminUsername: 'early' })).rejects.toThrow(
      /start the server once first/,
    );
  } finally {
    await empty.drop();
  }
});
