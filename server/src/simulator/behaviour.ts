/**
 * Behaviours a virtual device can have, the `--behaviour` mix syntax, and the seeded assignment of
 * behaviours to devices.
 */
import { createRandom } from './random.js';

/** Failure behaviours make an upgrade attempt end in a documented progress step (or never end). */
export const FAILURE_BEHAVIOURS = ['decline', 'downloadFail', 'corrupt', 'writeFail', 'undefinedFail', 'hang'] as const;
export type FailureBehaviour = (typeof FAILURE_BEHAVIOURS)[number];

/** Behaviours that can appear in a mix; every device not given one of these is `normal`. */
export const MIX_BEHAVIOURS = ['offline', ...FAILURE_BEHAVIOURS, 'slow'] as const;
export type MixBehaviour = (typeof MIX_BEHAVIOURS)[number];

export const BEHAVIOURS = ['normal', ...MIX_BEHAVIOURS] as const;
export type Behaviour = (typeof BEHAVIOURS)[number];

/** Share of the fleet (0..1) per behaviour. */
export type BehaviourMix = Partial<Record<MixBehaviour, number>>;

export function isFailureBehaviour(value: Behaviour): value is FailureBehaviour {
  return (FAILURE_BEHAVIOURS as readonly string[]).includes(value);
}

/**
 * Parses `offline=0.05,decline=0.02,…`. Shares are fractions of the fleet (a trailing `%` divides by
 * 100); they must add up to at most 1, the rest of the fleet behaves normally.
 */
export function parseBehaviourMix(text: string): BehaviourMix {
  const mix: BehaviourMix = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0)) {
    const match = /^([A-Za-z]+)\s*=\s*([0-9]*\.?[0-9]+)(%?)$/.exec(part);
    if (!match) throw new Error(`behaviour "${part}" is not name=share`);
    const [, name, number, percent] = match as unknown as [string, string, string, string];
    if (!(MIX_BEHAVIOURS as readonly string[]).includes(name)) {
      throw new Error(`unknown behaviour "${name}" (known: ${MIX_BEHAVIOURS.join(', ')})`);
    }
    const share = Number(number) / (percent ? 100 : 1);
    mix[name as MixBehaviour] = share;
  }
  validateBehaviourMix(mix);
  return mix;
}

export function validateBehaviourMix(mix: BehaviourMix): void {
  let total = 0;
  for (const [name, share] of Object.entries(mix)) {
    if (!(MIX_BEHAVIOURS as readonly string[]).includes(name)) throw new Error(`unknown behaviour "${name}"`);
    if (typeof share !== 'number' || !Number.isFinite(share) || share < 0 || share > 1) {
      throw new Error(`share of ${name} must be between 0 and 1`);
    }
    total += share;
  }
  // A little slack for decimal shares like 0.1+0.2.
  if (total > 1 + 1e-9) throw new Error(`behaviour shares add up to ${total}, more than 1`);
}

/**
 * Assigns behaviours: exactly round(share × n) devices per behaviour (n = devices without a fixed
 * behaviour), picked by a seeded shuffle so the same seed and fleet give the same assignment, and
 * the shares hold exactly rather than on average. `fixed[i]` (from the fleet file) wins over the mix.
 */
export function assignBehaviours(count: number, mix: BehaviourMix, seed: number, fixed: (Behaviour | undefined)[] = []): Behaviour[] {
  validateBehaviourMix(mix);
  const result: Behaviour[] = new Array<Behaviour>(count).fill('normal');
  const pool: number[] = [];
  for (let i = 0; i < count; i++) {
    const own = fixed[i];
    if (own) result[i] = own;
    else pool.push(i);
  }
  const random = createRandom(seed);
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  let next = 0;
  for (const name of MIX_BEHAVIOURS) {
    const wanted = Math.round((mix[name] ?? 0) * pool.length);
    for (let k = 0; k < wanted && next < pool.length; k++) result[pool[next++]!] = name;
  }
  return result;
}
