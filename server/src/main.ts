/** `pnpm start`: the whole system on one port (see README). */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startServer } from './app.js';
import { ensureDemoViewer } from './auth/demo-accounts.js';
import { signInHelp } from './auth/sign-in-help.js';
import { loadConfig } from './config.js';
import { startDemoFleet } from './devices/demo-fleet.js';
import { createLogger } from './observability/logger.js';
import { seedDemoIfEmpty } from './seed/demo.js';

const config = loadConfig();
const log = createLogger({ level: config.logLevel });
process.on('uncaughtException', (error) => {
  log.fatal({ err: error }, 'uncaught exception');
  log.flush();
  process.exit(1);
});

// /readyz stays 503 until the demo data exists, so a load balancer's first page shows it.
const server = await startServer(config, undefined, { log, startupWork: ['demo data'] });
const seeded = config.seedDemo && (await seedDemoIfEmpty(server.services, server.adminCaller));
const demoViewer = seeded ? await ensureDemoViewer(server.services, server.adminCaller, process.env.DEMO_VIEWER_PASSWORD || undefined) : null;
server.startupDone('demo data');
log.info(
  { url: server.url, graphql: server.graphqlUrl, database: server.services.database.kind, devices: server.rollout.gateway?.deviceUrl ?? null },
  `Updraft is running at ${server.url}`,
);
await printSignInHelp();
const gateway = server.services.config.demoFleet ? server.rollout.gateway : null;
const demoLog = log.child({ component: 'demo fleet' });
const demoFleet = gateway ? await startDemoFleet(server.services, gateway.deviceUrl, (line) => demoLog.info(line)) : null;

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) process.exit(1);
    closing = true;
    log.info({ signal }, 'shutting down');
    void (demoFleet?.stop() ?? Promise.resolve())
      .then(() => server.close())
      .then(() => {
        log.flush();
        process.exit(0);
      });
  });
}

/**
 * On a terminal the one-time secrets (a generated administrator token, the demo operator's
 * password) are shown there, once. Anywhere else stdout is a log, which must never carry a
 * credential: they go to a file only this user can read, and the log says where.
 */
async function printSignInHelp(): Promise<void> {
  const hasSecrets = !!server.bootstrap.generatedAdminToken || !!demoViewer;
  if (process.stdout.isTTY || !hasSecrets) {
    const help = signInHelp(server.bootstrap, server.url, demoViewer);
    if (process.stdout.isTTY) process.stdout.write(`\n${help}\n\n`);
    else log.info(help);
    return;
  }
  const file = path.join(config.dataDir, 'sign-in.txt');
  await writeFile(file, `${signInHelp(server.bootstrap, server.url, demoViewer)}\n`, { mode: 0o600 });
  log.info({ file }, signInHelp(server.bootstrap, server.url, demoViewer, { secretsFile: file }));
}
