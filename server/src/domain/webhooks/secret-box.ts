/**
 * Webhook signing secrets at rest. A signing secret must sign every delivery, so unlike tokens it
 * cannot be kept as a hash: it is encrypted with AES-256-GCM under WEBHOOK_SECRETS_KEY, with the
 * endpoint's id as associated data (a ciphertext copied onto another endpoint's row does not
 * decrypt). Without WEBHOOK_SECRETS_KEY a key is generated once into `signing_keys`, shared by every
 * instance: that protects a copy of the webhook tables alone, not a copy of the whole database,
 * which is why production deployments set the variable (docs/security.md).
 *
 * Secrets are Standard Webhooks secrets: `whsec_` + base64 of 32 random bytes.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { signingKeys } from '../../db/schema.js';

const KEY_NAME = 'webhook-secrets';
const VERSION = 'v1';

export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export class SecretBox {
  private readonly key: Buffer;

  /** `key`: any string; its SHA-256 is the AES key (a base64 32-byte value is the usual choice). */
  constructor(
    key: string,
    /** Where the key came from, for the start-up log. */
    readonly origin: 'environment' | 'database',
  ) {
    this.key = createHash('sha256').update(key).digest();
  }

  seal(secret: string, endpointId: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(endpointId));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join(':');
  }

  open(sealed: string, endpointId: string): string {
    const [version, iv, tag, body] = sealed.split(':');
    if (version !== VERSION || !iv || !tag || body === undefined) throw new Error('not a sealed webhook secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(endpointId));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }
}

/** The configured key, or the one kept in the database (created by whichever instance starts first). */
export async function loadSecretBox(db: Executor, configured: string | undefined): Promise<SecretBox> {
  if (configured) return new SecretBox(configured, 'environment');
  await db
    .insert(signingKeys)
    .values({ name: KEY_NAME, secret: randomBytes(32).toString('base64url') })
    .onConflictDoNothing();
  const [row] = await db.select().from(signingKeys).where(eq(signingKeys.name, KEY_NAME));
  return new SecretBox(row.secret, 'database');
}
