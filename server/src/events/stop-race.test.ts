import { describe, expect, it } from 'vitest';
import { raceAgainst } from './stop-race.js';

describe('raceAgainst (events of a subscription raced against its stop)', () => {
  it('answers each value while the stop is pending, then null once it settled', async () => {
    let stop!: () => void;
    const race = raceAgainst(new Promise<void>((resolve) => (stop = resolve)));
    for (let i = 0; i < 1000; i++) expect(await race(Promise.resolve(i))).toBe(i);
    const waiting = race(new Promise<number>(() => {}));
    stop();
    expect(await waiting).toBeNull();
    expect(await race(Promise.resolve(1))).toBeNull();
  });

  it('passes a failure of the value on', async () => {
    const race = raceAgainst(new Promise(() => {}));
    await expect(race(Promise.reject(new Error('source failed')))).rejects.toThrow('source failed');
  });

  it('treats a stop that fails like one that resolves', async () => {
    const race = raceAgainst(Promise.reject(new Error('ended')));
    expect(await race(new Promise(() => {}))).toBeNull();
  });
});
