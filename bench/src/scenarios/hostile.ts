/**
 * Scenario 6, hostile documents (issue 13): 4 clients without credentials send, over and over,
 * the most expensive documents the limits let through to the server (each with a fresh random
 * comment, so no parse cache helps), while a fifth client asks /healthz every 20 ms. Server CPU per
 * hostile request (this process's CPU time over the requests answered) and /healthz latency during
 * the attack, against /healthz latency of the same server idle, measured in the same repetition.
 */
import { MAX_REQUEST_BODY_BYTES } from '@updraft/server/config.js';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { BenchContext } from '../context.js';
import { cpuMs, createBenchDatabase, startUpdraft } from '../environment.js';
import type { AttackResult } from '../load/hostile.js';
import { figure, median, quantile, ratios, type Figure, type ScenarioResult } from '../results.js';
import { Worker } from '../workers.js';

/** The documents, each the largest of its kind within the body limit (8 MiB) or the document limits. */
const KINDS: { id: string; name: string; document: string }[] = [
  // The issue's probe, cut to the body limit: read and JSON-parsed, refused by its length unparsed.
  {
    id: 'body',
    name: `${(MAX_REQUEST_BODY_BYTES / 2 ** 20).toFixed(0)} MiB body of \`__typename\` (the body limit)`,
    document: `{ ${'__typename '.repeat(Math.floor((MAX_REQUEST_BODY_BYTES - 100) / 11))}}`,
  },
  // At the length limit, one token over the token limit: lexed up to the limit.
  { id: 'tokens', name: '100,000 characters, 10,001 tokens', document: `{${' a'.repeat(9_999)}}${' '.repeat(100_000 - 20_001 - 30)}` },
  // 3,000 fields of one name: quadratic in graphql's OverlappingFieldsCanBeMerged if it ran.
  { id: 'overlap', name: '3,000 fields of one response name', document: `{ ${'x: __typename '.repeat(3_000)}}` },
  // Fragments spread into each other: 2^40 fields once expanded.
  {
    id: 'fragments',
    name: 'fragments spread into each other (2^40 fields)',
    document: [
      'query { ...F0 }',
      ...Array.from({ length: 40 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`),
      'fragment F40 on Query { __typename }',
    ].join('\n'),
  },
];

const HEALTH_EVERY_MS = 20;

export async function runHostile(ctx: BenchContext): Promise<ScenarioResult> {
  const durationMs = ctx.quick ? 500 : 4_000;
  const database = await createBenchDatabase();
  const updraft = await startUpdraft(database, { engineEnabled: false, webhooksEnabled: false });
  const client = Worker.start('hostile');
  const { server } = updraft;
  const checks: string[] = [];
  const cpuPerRequest = new Map(KINDS.map((k) => [k.id, [] as number[]]));
  const healthP50 = new Map(KINDS.map((k) => [k.id, [] as number[]]));
  const healthP99 = new Map(KINDS.map((k) => [k.id, [] as number[]]));
  const loopDelayMax = new Map(KINDS.map((k) => [k.id, [] as number[]]));
  const idleP50: number[] = [];
  const idleP99: number[] = [];
  const attack = (document: string, clients: number) =>
    client.call<AttackResult>('attack', {
      url: server.graphqlUrl,
      healthUrl: `${server.url}/healthz`,
      document,
      clients,
      durationMs,
      healthEveryMs: HEALTH_EVERY_MS,
    });
  try {
    for (let rep = 0; rep <= ctx.reps; rep++) {
      const idle = await attack('', 0);
      for (const kind of KINDS) {
        const loopDelay = monitorEventLoopDelay({ resolution: 5 });
        loopDelay.enable();
        const before = cpuMs();
        const result = await attack(kind.document, 4);
        const cpu = cpuMs() - before;
        loopDelay.disable();
        const refused = (result.statuses['400'] ?? 0) + (result.statuses['413'] ?? 0);
        if (refused !== result.requests) throw new Error(`${kind.id}: not every hostile request was refused: ${JSON.stringify(result.statuses)}`);
        if (rep === 0) continue;
        cpuPerRequest.get(kind.id)!.push(cpu / result.requests);
        healthP50.get(kind.id)!.push(median(result.healthLatencies));
        healthP99.get(kind.id)!.push(quantile(result.healthLatencies, 0.99));
        loopDelayMax.get(kind.id)!.push(loopDelay.max / 1e6);
        checks.push(
          `rep ${rep}, ${kind.id}: ${result.requests} hostile requests, all refused (${JSON.stringify(result.statuses)}); ${result.healthLatencies.length} /healthz answers`,
        );
      }
      if (rep === 0) continue;
      idleP50.push(median(idle.healthLatencies));
      idleP99.push(quantile(idle.healthLatencies, 0.99));
      ctx.log(
        `  rep ${rep}: ${KINDS.map((k) => `${k.id} ${cpuPerRequest.get(k.id)!.at(-1)!.toFixed(1)} ms CPU`).join(', ')}; idle /healthz p50 ${idleP50.at(-1)!.toFixed(1)} ms`,
      );
    }
    const figures: Figure[] = [figure('/healthz latency, idle server, median', 'ms', idleP50), figure('/healthz latency, idle server, p99', 'ms', idleP99)];
    for (const kind of KINDS) {
      figures.push(
        figure(`${kind.name}: server CPU per hostile request`, 'ms', cpuPerRequest.get(kind.id)!, { text: '≤ 50 ms', met: (m) => m <= 50 }),
        figure(`${kind.name}: longest event-loop stall of the server during the attack`, 'ms', loopDelayMax.get(kind.id)!),
        figure(`${kind.name}: /healthz latency during the attack, p99`, 'ms', healthP99.get(kind.id)!),
        figure(`${kind.name}: /healthz p50 during the attack ÷ idle p50`, '×', ratios(healthP50.get(kind.id)!, idleP50)),
      );
    }
    return {
      id: 'hostile',
      title: '6. Hostile documents',
      setup:
        `4 clients without credentials send each kind of hostile document back to back for ${durationMs / 1000} s (a fresh random comment each time), ` +
        `a fifth client asks /healthz every ${HEALTH_EVERY_MS} ms; the same /healthz client alone on the idle server is the baseline. ` +
        "CPU per request = the server process's CPU time ÷ requests answered.",
      figures,
      checks,
      notes: [],
    };
  } finally {
    await client.close();
    await updraft.close();
    await database.drop();
  }
}
