/**
 * Secrets are stored hashed: reading every row of every table gives away no password, API token,
 * session token or device secret; passwords are salted scrypt, tokens SHA-256.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createProduct, registerDevices } from '../support/fixtures.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { signIn } from './browser.js';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

/** Every row of every table of the public schema, as JSON text. */
async function everythingInTheDatabase(): Promise<string> {
  const tables = await t.database.handle.rawQuery<{ table_name: string }>(
    `select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`,
  );
  const dumps: string[] = [];
  for (const { table_name } of tables) {
    const rows = await t.database.handle.rawQuery(`select row_to_json(t)::text as row from "${table_name}" t`);
    dumps.push(...rows.map((r) => String((r as { row: string }).row)));
  }
  return dumps.join('\n');
}

it('keeps no password, token, session or device secret readable', async () => {
  const password = 'a long and secret password';
  const user = await t.createUser({ username: 'holder', password, permissions: ['OTA_READ', 'DEVICE_WRITE'] });
  const created = await user.gql(`mutation { createApiToken(input: { name: "ci", permissions: [OTA_READ] }) {
    ... on MutationCreateApiTokenSuccess { data { token } } } }`);
  const apiToken: string = created.data.createApiToken.data.token;
  const { session } = await signIn(t.server.graphqlUrl, { username: 'holder', password });
  await createProduct(t, 'stored-meter');
  const secrets = Object.values(await registerDevices(t, 'stored-meter', [{ deviceKey: 'stored-1' }, { deviceKey: 'stored-2' }]));

  const everything = await everythingInTheDatabase();
  for (const secret of [password, apiToken, session!, user.token, t.adminToken, ...secrets]) {
    expect(secret.length).toBeGreaterThan(8);
    expect(everything.includes(secret), `${secret.slice(0, 12)}… is in the database`).toBe(false);
    // Not even base64- or URL-encoded.
    expect(everything.includes(Buffer.from(secret).toString('base64'))).toBe(false);
  }

  const [row] = await t.database.handle.rawQuery<{ password_hash: string }>(`select password_hash from users where username = 'holder'`);
  expect(row.password_hash).toMatch(/^scrypt\$32768\$8\$3\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  for (const token of [apiToken, session!, user.token]) {
    const rows = await t.database.handle.rawQuery(`select id from api_tokens where token_hash = $1`, [sha256(token)]);
    expect(rows).toHaveLength(1);
  }
});

it('salts every password: the same password gives different hashes', async () => {
  await t.createUser({ username: 'twin-a', password: 'the very same password', permissions: [] });
  await t.createUser({ username: 'twin-b', password: 'the very same password', permissions: [] });
  const rows = await t.database.handle.rawQuery<{ password_hash: string }>(`select password_hash from users where username like 'twin-%'`);
  expect(new Set(rows.map((r) => r.password_hash)).size).toBe(2);
});
