import { describe, expect, it } from 'vitest';
import { backoffMs } from './dispatcher.js';

describe('retry backoff', () => {
  it('doubles from the base up to the cap, with ±20% jitter', () => {
    const exact = (n: number) => backoffMs(n, 5000, 7_200_000, () => 0.5);
    expect([1, 2, 3, 4, 5].map(exact)).toEqual([5000, 10_000, 20_000, 40_000, 80_000]);
    expect(exact(20)).toBe(7_200_000);
    expect(exact(500)).toBe(7_200_000);
    expect(backoffMs(3, 5000, 7_200_000, () => 0)).toBe(16_000);
    expect(backoffMs(3, 5000, 7_200_000, () => 1)).toBe(24_000);
  });

  it('spreads retries over the 24 hours a delivery is retried: about 20 attempts', () => {
    let elapsed = 0;
    let attempts = 0;
    while (elapsed < 24 * 3_600_000) elapsed += backoffMs(++attempts, 5000, 7_200_000, () => 0.5);
    expect(attempts).toBeGreaterThan(15);
    expect(attempts).toBeLessThan(25);
  });
});
