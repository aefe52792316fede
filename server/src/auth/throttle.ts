/**
 * Sign-in rate limits, per username and per client address, counted in the database so that every
 * server instance counts the same attempts.
 *
 * Each key has a fixed window. An attempt is counted before the credentials are checked (one
 * atomic upsert, so parallel attempts cannot slip past the limit together) and given back when it
 * succeeds; what remains counted is failures. Once a key is over its limit, attempts are refused
 * unchecked until the window that started with its first failure ends: trying harder does not
 * lengthen the wait, and it does not shorten it either.
 */
import { eq, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { signInThrottles } from '../db/schema.js';
import { queryRows } from '../db/sql.js';
import { TooManyAttemptsError } from './errors.js';

export const SIGN_IN_WINDOW_SECONDS = 15 * 60;
/** Failed sign-ins per username per window: slow enough against guessing, and a locked-out user waits minutes, not hours. */
export const MAX_FAILURES_PER_USERNAME = 10;
/** Per client address: higher, as one office behind NAT shares an address. */
export const MAX_FAILURES_PER_ADDRESS = 30;

const WINDOW = sql.raw(`interval '${SIGN_IN_WINDOW_SECONDS} seconds'`);

export interface ThrottleKey {
  key: string;
  limit: number;
}

export const usernameKey = (username: string): ThrottleKey => ({ key: `user:${username.toLowerCase()}`, limit: MAX_FAILURES_PER_USERNAME });
export const addressKey = (address: string): ThrottleKey => ({ key: `address:${address}`, limit: MAX_FAILURES_PER_ADDRESS });

/** Counts one attempt on every key; throws TooManyAttemptsError when any of them is over its limit. */
export async function countAttempt(db: Executor, keys: ThrottleKey[]): Promise<void> {
  let retryAfterSeconds = 0;
  for (const { key, limit } of keys) {
    const [row] = await queryRows<{ attempts: number; retry_after: number | string }>(
      db,
      sql`insert into ${signInThrottles} (key, attempts, window_started_at) values (${key}, 1, now())
          on conflict (key) do update set
            attempts = case when ${signInThrottles.windowStartedAt} <= now() - ${WINDOW}
                            then 1 else ${signInThrottles.attempts} + 1 end,
            window_started_at = case when ${signInThrottles.windowStartedAt} <= now() - ${WINDOW}
                            then now() else ${signInThrottles.windowStartedAt} end
          returning attempts,
            ceil(extract(epoch from window_started_at + ${WINDOW} - now())) as retry_after`,
    );
    if (row.attempts > limit) retryAfterSeconds = Math.max(retryAfterSeconds, Math.max(1, Number(row.retry_after)));
  }
  if (retryAfterSeconds > 0) throw new TooManyAttemptsError(retryAfterSeconds);
}

/** A successful sign-in: the username starts afresh, the address gets its attempt back. */
export async function forgiveAttempt(db: Executor, keys: { username?: ThrottleKey; address?: ThrottleKey }): Promise<void> {
  if (keys.username) await db.delete(signInThrottles).where(eq(signInThrottles.key, keys.username.key));
  if (keys.address) {
    await db
      .update(signInThrottles)
      .set({ attempts: sql`greatest(${signInThrottles.attempts} - 1, 0)` })
      .where(eq(signInThrottles.key, keys.address.key));
  }
}

/** Windows that ended long ago are only clutter. */
export async function forgetOldAttempts(db: Executor): Promise<void> {
  await db.delete(signInThrottles).where(sql`${signInThrottles.windowStartedAt} < now() - ${WINDOW} * 2`);
}
