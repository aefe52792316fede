/**
 * API rate limits (docs/security.md, "API rate limits"): a token bucket per credential, and per
 * client address for requests without valid credentials, over HTTP and SSE requests and graphql-ws
 * operations alike. Kept in this instance's memory: behind a load balancer each instance allows
 * its share (the sign-in limits, which guard passwords, are counted in the database instead).
 */
import { GraphQLError } from 'graphql';

export interface RateLimiter {
  /** Takes one request from `key`'s bucket: null when allowed, else the seconds until one is. */
  take(key: string): number | null;
}

/** Buckets hold a quarter of a minute's allowance, so a burst (a page opening) passes at once. */
export function createRateLimiter(perMinute: number, now: () => number = Date.now): RateLimiter {
  if (perMinute <= 0) return { take: () => null };
  const capacity = Math.max(1, Math.ceil(perMinute / 4));
  const perMs = perMinute / 60_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key) {
      const t = now();
      let bucket = buckets.get(key);
      if (!bucket) {
        // Full buckets carry no information: forget them when the map grows (many addresses).
        if (buckets.size >= 100_000) for (const [k, b] of buckets) if (b.tokens + (t - b.at) * perMs >= capacity) buckets.delete(k);
        bucket = { tokens: capacity, at: t };
        buckets.set(key, bucket);
      }
      bucket.tokens = Math.min(capacity, bucket.tokens + (t - bucket.at) * perMs);
      bucket.at = t;
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return null;
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
    },
  };
}

export const RATE_LIMITED = 'RATE_LIMITED';

export function rateLimited(retryAfterSeconds: number): GraphQLError {
  return new GraphQLError(`Too many requests: try again in ${retryAfterSeconds} s`, {
    extensions: { code: RATE_LIMITED, retryAfterSeconds, http: { status: 429, headers: { 'retry-after': String(retryAfterSeconds) } } },
  });
}

/** The API's two limiters: per credential, and per address without valid credentials. */
export interface ApiRateLimits {
  /** Null when allowed, else the error to answer. */
  check(credentialId: string | null, clientAddress: string): GraphQLError | null;
}

export function createApiRateLimits(options: { perCredentialPerMinute: number; perAddressPerMinute: number }): ApiRateLimits {
  const credentials = createRateLimiter(options.perCredentialPerMinute);
  const addresses = createRateLimiter(options.perAddressPerMinute);
  return {
    check(credentialId, clientAddress) {
      const wait = credentialId ? credentials.take(credentialId) : addresses.take(clientAddress);
      return wait === null ? null : rateLimited(wait);
    },
  };
}
