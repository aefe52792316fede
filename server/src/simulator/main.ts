/**
 * CLI of the fleet simulator:
 *   tsx server/src/simulator/main.ts --fleet fleet.json --mqtt mqtt://127.0.0.1:1883 \
 *     [--behaviour offline=0.05,decline=0.02,…] [--upgrade-seconds 20] [--seed N] [--connect-rate N] …
 * See docs/simulator.md.
 */
import { parseArgs } from 'node:util';
import { MIX_BEHAVIOURS } from './behaviour.js';
import { startFleet, type FleetOptions } from './fleet.js';
import { loadFleetFile } from './fleet-file.js';
import { formatStats } from './stats.js';

const USAGE = `Usage: tsx server/src/simulator/main.ts --fleet <file.json> [options]

  --fleet <file>            JSON array of {productKey, deviceKey, secret, version[, behaviour]}
  --mqtt <url>              broker URL (default: $MQTT_URL or mqtt://127.0.0.1:1883)
  --behaviour <mix>         shares per behaviour, e.g. offline=0.05,decline=0.02,slow=10%
                            (${MIX_BEHAVIOURS.join(', ')}); the rest is normal
  --upgrade-seconds <n>     nominal upgrade duration, accept to 100% (default 20)
  --reboot-seconds <n>      pause before reconnecting with the new version (default 2)
  --progress-reports <n>    progress reports after "0" (default 10)
  --seed <n>                seed for behaviour assignment (default 1)
  --connect-rate <n>        new connections per second at start (default 200, 0 = unlimited)
  --offline-delay <s>       offline devices connect after this many seconds (default: never)
  --fail-attempts <n>       failure behaviours apply to the first n attempts only (default: all)
  --stats-interval <s>      print counters every s seconds (default 10, 0 = never)
  --verbose                 log per-device problems (malformed messages, MQTT errors)
  --help`;

function numberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < 0) {
    throw new Error(`--${name} must be a non-negative number, got "${value}"`);
  }
  return number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      fleet: { type: 'string' },
      mqtt: { type: 'string' },
      behaviour: { type: 'string' },
      'upgrade-seconds': { type: 'string' },
      'reboot-seconds': { type: 'string' },
      'progress-reports': { type: 'string' },
      seed: { type: 'string' },
      'connect-rate': { type: 'string' },
      'offline-delay': { type: 'string' },
      'fail-attempts': { type: 'string' },
      'stats-interval': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.fleet) throw new Error('--fleet is required');

  const devices = await loadFleetFile(values.fleet);
  const options: FleetOptions = {
    devices,
    mqttUrl: values.mqtt ?? process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883',
    behaviour: values.behaviour,
    seed: numberOption('seed', values.seed),
    upgradeSeconds: numberOption('upgrade-seconds', values['upgrade-seconds']),
    rebootSeconds: numberOption('reboot-seconds', values['reboot-seconds']),
    progressReports: numberOption('progress-reports', values['progress-reports']),
    connectRate: numberOption('connect-rate', values['connect-rate']),
    offlineDelaySeconds: numberOption('offline-delay', values['offline-delay']) ?? null,
    failAttempts: numberOption('fail-attempts', values['fail-attempts']),
    // A fleet that cannot all connect is still useful to watch; report instead of giving up.
    waitForConnect: false,
    log: values.verbose ? (line) => console.error(`[device] ${line}`) : undefined,
  };

  const fleet = await startFleet(options);
  const counts = new Map<string, number>();
  for (const device of fleet.devices) counts.set(device.behaviour, (counts.get(device.behaviour) ?? 0) + 1);
  console.log(
    `[simulator] ${fleet.devices.length} devices on ${options.mqttUrl}: ${[...counts].map(([behaviour, count]) => `${behaviour}=${count}`).join(' ')}`,
  );
  fleet
    .whenConnected()
    .then(() => console.log('[simulator] every online device connected'))
    .catch((error: Error) => console.error(`[simulator] ${error.message}`));

  const interval = numberOption('stats-interval', values['stats-interval']) ?? 10;
  const timer = interval > 0 ? setInterval(() => console.log(`[simulator] ${formatStats(fleet.stats)}`), interval * 1000) : null;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    if (timer) clearInterval(timer);
    console.log(`[simulator] ${signal}: stopping`);
    await fleet.stop();
    console.log(`[simulator] final: ${formatStats(fleet.stats)}`);
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(`[simulator] ${error instanceof Error ? error.message : String(error)}`);
  console.error(USAGE);
  process.exit(1);
});
