/**
 * The server's log: pino, JSON lines when stdout is not a terminal (a log pipeline reads them),
 * pretty lines on a terminal. LOG_LEVEL sets the level (default info). Every line logged inside a
 * request carries its `reqId` (observability/context.ts).
 *
 * Secrets never reach the log: known fields are redacted by path, and every message and string
 * field is scrubbed of API tokens and sessions (`updraft_…`), bearer credentials, download tokens
 * in URLs (`token=…`) and passwords/secrets in `key=value` or JSON form. tests/observability checks
 * the log of a whole run for the secrets it used.
 */
import type { Writable } from 'node:stream';
import { type DestinationStream, type Logger, pino } from 'pino';
import pretty from 'pino-pretty';
import { currentLogContext } from './context.js';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Fields that hold credentials wherever they appear in a logged object. */
const REDACT_PATHS = [
  'password',
  'token',
  'secret',
  'sessionSecret',
  'authorization',
  'cookie',
  '*.password',
  '*.token',
  '*.secret',
  '*.sessionSecret',
  '*.authorization',
  '*.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'res.headers["set-cookie"]',
];

const SCRUBBERS: [RegExp, string][] = [
  // API tokens and session secrets (auth/credentials.ts TOKEN_PREFIX). Their random part always has
  // a capital or a digit; metric names (updraft_lower_case_total) have neither and stay readable.
  [/updraft_(?=[a-z_-]*[A-Z0-9])[A-Za-z0-9_-]{8,}/g, 'updraft_[REDACTED]'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [REDACTED]'],
  // Download tokens in firmware URLs, and any other token/secret/password query parameter.
  [/([?&](?:token|secret|password|key)=)[^&\s"']+/gi, '$1[REDACTED]'],
  [/("(?:password|secret|token|deviceSecret|sessionSecret)"\s*:\s*)"[^"]*"/gi, '$1"[REDACTED]"'],
  [/\b(password|secret|deviceSecret)=\S+/gi, '$1=[REDACTED]'],
  // Passwords in URLs: scheme://user:password@host.
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^:/\s@]*:)[^@\s/]+@/gi, '$1[REDACTED]@'],
];

/** A URL without its password (MQTT_URL, REDIS_URL and DATABASE_URL may carry one). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = 'REDACTED';
    return parsed.toString();
  } catch {
    return scrub(url);
  }
}

export function scrub(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SCRUBBERS) out = out.replace(pattern, replacement);
  return out;
}

function scrubValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrub(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { type: value.name, message: scrub(value.message), stack: value.stack ? scrub(value.stack) : undefined };
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubValue(v, depth + 1);
  return out;
}

export interface LoggerOptions {
  level?: string;
  /** Where lines go (tests capture them); default stdout, pretty on a terminal. */
  destination?: DestinationStream | Writable;
  /** Force JSON or pretty; default: pretty only when stdout is a terminal. */
  pretty?: boolean;
}

export function parseLogLevel(raw: string | undefined): LogLevel {
  if (!raw) return 'info';
  const level = raw.toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  return level as LogLevel;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const usePretty = options.pretty ?? (!options.destination && process.stdout.isTTY === true);
  const destination =
    options.destination ??
    (usePretty ? pretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }) : pino.destination({ sync: false }));
  return pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      // Every line inside a request names it.
      mixin: () => currentLogContext() ?? {},
      hooks: {
        logMethod(args, method) {
          // (message) | (object, message, ...) | (error, message): scrub whatever is text.
          const scrubbed = args.map((arg, i) => (i === 0 && arg instanceof Error ? { err: scrubValue(arg) } : scrubValue(arg))) as typeof args;
          return method.apply(this, scrubbed);
        },
      },
    },
    destination as DestinationStream,
  );
}
