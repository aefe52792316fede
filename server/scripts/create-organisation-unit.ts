/**
 * `pnpm --filter @updraft/server ou:create --name "Acme" --admin acme-admin`: a further organisation
 * unit with an Administrator role and its first administrator, whose API token is printed once.
 * The administrator's password, if wanted, comes from ADMIN_PASSWORD (never from the command line,
 * which other users of the machine can see). Uses DATABASE_URL / DATA_DIR like the server.
 */
import { parseArgs } from 'node:util';
import { createOrganisationUnit } from '../src/auth/organisation-units.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { DomainError } from '../src/domain/errors.js';
import { createEventBus } from '../src/events/bus.js';

const { values } = parseArgs({ options: { name: { type: 'string' }, admin: { type: 'string' } } });
if (!values.name || !values.admin) {
  console.error('usage: ou:create --name <organisation unit name> --admin <administrator username>   (password: ADMIN_PASSWORD)');
  process.exit(2);
}
const config = loadConfig();
const database = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: `${config.dataDir}/pglite` });
try {
  const created = await createOrganisationUnit(
    { db: database.db, events: createEventBus() },
    { name: values.name, adminUsername: values.admin, adminPassword: process.env.ADMIN_PASSWORD || undefined },
  );
  console.log(`Created organisation unit "${values.name}" and its administrator "${values.admin.toLowerCase()}".`);
  console.log(`Administrator API token (shown this once; only its hash is stored):\n  ${created.adminToken}`);
} catch (error) {
  if (!(error instanceof DomainError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
} finally {
  await database.close();
}
