import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.js';

/** Every `updraft_…_total` name the report path counts by name (devices/report-*.ts), with its label if any. */
function countedNames(): string[] {
  const dir = new URL('../devices/', import.meta.url);
  const names = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.startsWith('report-') && !f.endsWith('.test.ts'))) {
    const source = readFileSync(new URL(file, dir), 'utf8');
    for (const m of source.matchAll(/['`](updraft_[a-z_]+_total)(\{\w+="[^"]*"\})?['`]/g)) names.add(m[1] + (m[2]?.replace(/\$\{[^}]*\}/, 'x') ?? ''));
  }
  return [...names];
}

describe('report batch counts', () => {
  it('name only counters the registry has, so a committed batch always counts', async () => {
    const names = countedNames();
    expect(names.length).toBeGreaterThan(5);
    const metrics = new Metrics();
    expect(metrics.addCounts(new Map(names.map((n) => [n, 2])))).toEqual([]);
    expect(await metrics.value('updraft_device_reports_held_total')).toBe(2);
  });

  it('returns what names no counter instead of throwing after a commit', () => {
    expect(new Metrics().addCounts(new Map([['updraft_nothing_total', 1]]))).toEqual(['updraft_nothing_total']);
  });
});
