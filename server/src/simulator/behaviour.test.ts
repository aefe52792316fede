import { describe, expect, it } from 'vitest';
import { assignBehaviours, parseBehaviourMix, validateBehaviourMix, type Behaviour } from './behaviour.js';

describe('parseBehaviourMix', () => {
  it('parses the CLI syntax, fractions and percentages', () => {
    expect(parseBehaviourMix('offline=0.05,decline=0.02, downloadFail=2%,slow=.1')).toEqual({
      offline: 0.05,
      decline: 0.02,
      downloadFail: 0.02,
      slow: 0.1,
    });
    expect(parseBehaviourMix('')).toEqual({});
  });

  it.each([
    ['unknown name', 'explode=0.1', /unknown behaviour "explode"/],
    ['normal is not a mix entry', 'normal=0.5', /unknown behaviour/],
    ['missing share', 'offline', /name=share/],
    ['negative', 'offline=-0.1', /name=share/],
    ['over one', 'offline=1.5', /between 0 and 1/],
    ['sum over one', 'offline=0.6,hang=0.5', /add up to/],
    ['text share', 'offline=lots', /name=share/],
  ])('rejects %s', (_label, text, message) => {
    expect(() => parseBehaviourMix(text)).toThrow(message);
  });

  it('accepts shares that add up to exactly 1 despite float rounding', () => {
    expect(() => validateBehaviourMix({ offline: 0.1, decline: 0.2, slow: 0.7 })).not.toThrow();
  });
});

describe('assignBehaviours', () => {
  const mix = { offline: 0.05, decline: 0.02, downloadFail: 0.02, corrupt: 0.02, writeFail: 0.02, undefinedFail: 0.01, hang: 0.01, slow: 0.1 };

  it('gives exactly round(share × n) devices each behaviour', () => {
    const result = assignBehaviours(1000, mix, 42);
    const count = (b: Behaviour) => result.filter((x) => x === b).length;
    expect(count('offline')).toBe(50);
    expect(count('decline')).toBe(20);
    expect(count('hang')).toBe(10);
    expect(count('slow')).toBe(100);
    expect(count('normal')).toBe(1000 - 250);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    expect(assignBehaviours(500, mix, 7)).toEqual(assignBehaviours(500, mix, 7));
    expect(assignBehaviours(500, mix, 7)).not.toEqual(assignBehaviours(500, mix, 8));
  });

  it('keeps fixed behaviours and spreads the mix over the other devices', () => {
    const fixed: (Behaviour | undefined)[] = ['hang', undefined, undefined, 'normal', undefined];
    const result = assignBehaviours(5, { decline: 0.5 }, 1, fixed);
    expect(result[0]).toBe('hang');
    expect(result[3]).toBe('normal');
    expect([result[1], result[2], result[4]].filter((b) => b === 'decline')).toHaveLength(2); // round(0.5 × 3)
  });

  it('handles empty fleets and empty mixes', () => {
    expect(assignBehaviours(0, mix, 1)).toEqual([]);
    expect(assignBehaviours(3, {}, 1)).toEqual(['normal', 'normal', 'normal']);
  });
});
