import { describe, expect, it } from 'vitest';
import { nextBatchStart, takeBatch } from './ingest.js';

const items = (...specs: string[]) => specs.map((spec) => ({ device: spec.split(':')[0], id: spec }));

describe('takeBatch (report batches written side by side)', () => {
  it('takes queued reports in order, up to the batch size', () => {
    const { batch, rest } = takeBatch(items('a:1', 'b:1', 'c:1', 'd:1'), new Set(), 3);
    expect(batch.map((i) => i.id)).toEqual(['a:1', 'b:1', 'c:1']);
    expect(rest.map((i) => i.id)).toEqual(['d:1']);
  });

  it('leaves the reports of a device held by a running batch, and keeps their order', () => {
    const { batch, rest } = takeBatch(items('a:1', 'b:1', 'a:2', 'c:1', 'b:2'), new Set(['a']), 10);
    expect(batch.map((i) => i.id)).toEqual(['b:1', 'c:1', 'b:2']);
    expect(rest.map((i) => i.id)).toEqual(['a:1', 'a:2']);
  });

  it('never takes a later report of a device whose earlier one stays queued', () => {
    // The batch fills up at b:1; b's next report must not jump ahead in a later batch taken
    // while this one runs (that batch would find b busy; here: b:2 stays behind b:1's batch).
    const first = takeBatch(items('a:1', 'b:1', 'a:2', 'b:2'), new Set(), 2);
    expect(first.batch.map((i) => i.id)).toEqual(['a:1', 'b:1']);
    const second = takeBatch(first.rest, new Set(['a', 'b']), 2);
    expect(second.batch).toEqual([]);
    expect(second.rest.map((i) => i.id)).toEqual(['a:2', 'b:2']);
  });

  it("takes a device's reports together when it is free, so one batch applies them in order", () => {
    const { batch } = takeBatch(items('a:1', 'a:2', 'a:3'), new Set(), 10);
    expect(batch.map((i) => i.id)).toEqual(['a:1', 'a:2', 'a:3']);
  });
});

describe('nextBatchStart (when the next report batch is written)', () => {
  const state = { queued: 1, running: 0, concurrency: 2, batchSize: 500, batchMs: 20, waitedMs: 0 };

  it('writes at once when no batch is running, even a lone report', () => {
    expect(nextBatchStart(state)).toBe('now');
    expect(nextBatchStart({ ...state, queued: 0 })).toBe('later');
  });

  it('lets the queue grow while a batch runs, and starts a full batch beside it', () => {
    expect(nextBatchStart({ ...state, running: 1, queued: 10, waitedMs: 5 })).toBe(15);
    expect(nextBatchStart({ ...state, running: 1, queued: 500, waitedMs: 0 })).toBe('now');
  });

  it('starts a partial batch beside a running one once its oldest report waited REPORT_BATCH_MS', () => {
    expect(nextBatchStart({ ...state, running: 1, queued: 10, waitedMs: 20 })).toBe('now');
  });

  it('never runs more than REPORT_BATCH_CONCURRENCY batches', () => {
    expect(nextBatchStart({ ...state, running: 2, queued: 5000, waitedMs: 1000 })).toBe('later');
    expect(nextBatchStart({ ...state, concurrency: 1, running: 1, queued: 5000, waitedMs: 1000 })).toBe('later');
  });
});
