/** `pnpm start`: the whole system on one port (see README). */
import { startServer } from './app.js';
import { ensureDemoViewer } from './auth/demo-accounts.js';
import { signInHelp } from './auth/sign-in-help.js';
import { loadConfig } from './config.js';
import { startDemoFleet } from './devices/demo-fleet.js';
import { seedDemoIfEmpty } from './seed/demo.js';

const config = loadConfig();
const server = await startServer(config);
const seeded = config.seedDemo && (await seedDemoIfEmpty(server.services, server.adminCaller));
const demoViewer = seeded ? await ensureDemoViewer(server.services, server.adminCaller, process.env.DEMO_VIEWER_PASSWORD || undefined) : null;
console.log(`Updraft is running at ${server.url}  (GraphQL: ${server.graphqlUrl}, database: ${server.services.database.kind})`);
console.log(signInHelp(server.bootstrap, server.url, demoViewer));
const gateway = server.services.config.demoFleet ? server.rollout.gateway : null;
const demoFleet = gateway ? await startDemoFleet(server.services, gateway.deviceUrl, (line) => console.log(line)) : null;

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) process.exit(1);
    closing = true;
    console.log(`${signal}: shutting down`);
    void (demoFleet?.stop() ?? Promise.resolve()).then(() => server.close()).then(() => process.exit(0));
  });
}
