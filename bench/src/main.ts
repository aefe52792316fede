/**
 * pnpm bench [--quick] [--only=a,b] [--reps=N] [--no-write]
 *
 * Runs the scenarios of issue 7 against Updraft and against a baseline measured in the same run,
 * prints the table (median and spread of every figure and ratio), and writes bench/results.json and
 * the generated part of docs/benchmarks.md. DATABASE_URL: PostgreSQL (a database of its own, dropped
 * afterwards); otherwise in-memory PGlite. MQTT_URL: an external broker; otherwise the embedded one.
 * --quick runs every scenario small enough for CI's smoke check; nothing is asserted on the figures.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './context.js';
import { createBenchDatabase, machineInfo } from './environment.js';
import { printTable, readEarlierRun, withEarlierScenarios, writeJson, writeMarkdown, type BenchRun } from './report.js';
import type { ScenarioResult } from './results.js';
import { runDashboard } from './scenarios/dashboard.js';
import { runFanout } from './scenarios/fanout.js';
import { runHostile } from './scenarios/hostile.js';
import { runIngestion } from './scenarios/ingestion.js';
import { runIngestionWebhooks } from './scenarios/ingestion-webhooks.js';
import { runJobDetails } from './scenarios/job-details.js';
import { runRollout } from './scenarios/rollout.js';

const SCENARIOS: Record<string, (ctx: BenchContext) => Promise<ScenarioResult>> = {
  'job-details': runJobDetails,
  ingestion: runIngestion,
  'ingestion-webhooks': runIngestionWebhooks,
  fanout: runFanout,
  rollout: runRollout,
  dashboard: runDashboard,
  hostile: runHostile,
};

function option(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

const quick = process.argv.includes('--quick');
const only = option('only')?.split(',') ?? Object.keys(SCENARIOS);
const unknown = only.filter((name) => !SCENARIOS[name]);
if (unknown.length) {
  console.error(`unknown scenario(s): ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  process.exit(2);
}
const reps = Number(option('reps') ?? (quick ? 2 : 5));
const write = !process.argv.includes('--no-write');
const started = new Date();
const log = (line: string) => console.log(`[${((Date.now() - started.getTime()) / 1000).toFixed(0).padStart(4)} s] ${line}`);

const probe = await createBenchDatabase();
const machine = await machineInfo(probe);
await probe.drop();
log(
  `Updraft bench, ${quick ? 'quick' : 'full'} mode, ${reps} repetitions: ${machine.cpuModel}, ${machine.cores} cores, ${machine.database}, ${machine.broker}`,
);

const scenarios: ScenarioResult[] = [];
for (const name of only) {
  log(`scenario ${name}`);
  const result = await SCENARIOS[name]({ quick, reps, log: (line) => log(line) });
  scenarios.push(result);
}

const run: BenchRun = {
  startedAt: started.toISOString(),
  finishedAt: new Date().toISOString(),
  mode: quick ? 'quick' : 'full',
  reps,
  machine,
  commit: gitCommit(),
  scenarios,
};
const resultsFile = fileURLToPath(new URL('../results.json', import.meta.url));
printTable(run, (line) => console.log(line));
if (write) {
  // `--only` re-measures some scenarios: the others keep their figures from the last run of the
  // same mode on a machine of the same shape, each marked with the run it was measured in.
  const merged = withEarlierScenarios(run, await readEarlierRun(resultsFile), Object.keys(SCENARIOS));
  await writeJson(resultsFile, merged);
  await writeMarkdown(fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url)), merged);
  log('wrote bench/results.json and docs/benchmarks.md');
}
process.exit(0);

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}
