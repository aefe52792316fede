/**
 * Small seeded randomness, so that the same seed gives the same fleet behaviour on every run
 * (tests and benchmarks compare runs). Not cryptographic.
 */

/** mulberry32: a 32-bit state PRNG returning floats in [0, 1). Fast and good enough for simulation. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over the UTF-16 code units: a stable 32-bit hash to derive per-device seeds from keys. */
export function hash32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A PRNG for one device that depends only on the fleet seed and the device's keys, not on fleet order. */
export function deviceRandom(seed: number, productKey: string, deviceKey: string): () => number {
  return createRandom(hash32(`${seed}\u0000${productKey}\u0000${deviceKey}`));
}

/** Integer in [min, max], inclusive. */
export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}
