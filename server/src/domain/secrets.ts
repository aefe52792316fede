/**
 * Device secrets and API tokens are random 256-bit values generated here, so they cannot be
 * guessed and a fast hash (SHA-256) is enough to store them: a slow KDF protects low-entropy
 * passwords, and would cost tens of milliseconds on every one of 100,000 device connections.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const actual = Buffer.from(hashSecret(secret), 'hex');
  const expected = Buffer.from(storedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
