/**
 * Short-lived download tokens for firmware URLs in pushes: `{expiry}.{HMAC-SHA256(firmwareId.expiry)}`.
 * A token names no device: it lets whoever holds the URL fetch that one file until it expires,
 * which is what a device needs to resume a download with a Range request.
 *
 * The key is DOWNLOAD_TOKEN_SECRET when set; otherwise one random key is generated once and kept in
 * the database (`signing_keys`), so every instance and every restart accept each other's tokens.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { signingKeys } from '../db/schema.js';

const KEY_NAME = 'firmware-download';

export type TokenCheck = { ok: true } | { ok: false; reason: 'malformed' | 'expired' | 'invalid' };

export class DownloadTokens {
  constructor(
    private readonly key: Buffer,
    private readonly ttlSeconds: number,
  ) {}

  mint(firmwareId: string, now = Date.now()): string {
    const expiry = Math.floor(now / 1000) + this.ttlSeconds;
    return `${expiry}.${this.sign(firmwareId, expiry)}`;
  }

  check(firmwareId: string, token: string, now = Date.now()): TokenCheck {
    const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) return { ok: false, reason: 'malformed' };
    const expiry = Number(match[1]);
    const expected = Buffer.from(this.sign(firmwareId, expiry));
    const given = Buffer.from(match[2]);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'invalid' };
    if (expiry * 1000 < now) return { ok: false, reason: 'expired' };
    return { ok: true };
  }

  private sign(firmwareId: string, expiry: number): string {
    return createHmac('sha256', this.key).update(`${firmwareId}.${expiry}`).digest('base64url');
  }
}

/** The configured key, or the one kept in the database (created by whichever instance starts first). */
export async function loadDownloadTokens(db: Database, secret: string | undefined, ttlSeconds: number): Promise<DownloadTokens> {
  if (secret) return new DownloadTokens(Buffer.from(secret), ttlSeconds);
  await db
    .insert(signingKeys)
    .values({ name: KEY_NAME, secret: randomBytes(32).toString('base64url') })
    .onConflictDoNothing();
  const [row] = await db.select().from(signingKeys).where(eq(signingKeys.name, KEY_NAME));
  return new DownloadTokens(Buffer.from(row.secret), ttlSeconds);
}
