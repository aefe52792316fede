/**
 * GraphQL's share of the metrics and the log: each query and mutation's execution time by
 * operation name (bounded: observability/metrics.ts), errors by code, and one log line per refusal
 * (FORBIDDEN, UNAUTHENTICATED) and per failed mutation. Runs for HTTP and WebSocket alike (app.ts
 * runs WebSocket operations through yoga.getEnveloped). Subscriptions are counted where they live
 * (app.ts, graphql-ws hooks): wrapping their iterators here would hide the direct-delivery seam of
 * live/shared-results.ts.
 */
import { getOperationAST, type GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/** Error codes are label values only from this set; anything else counts as OTHER. */
const KNOWN_CODES = new Set([
  'BAD_USER_INPUT',
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'INVALID_INPUT',
  'INTERNAL_SERVER_ERROR',
  'PERSISTED_QUERY_NOT_FOUND',
  'COMPLEXITY_LIMIT',
  'DEPTH_LIMIT',
]);
const REFUSALS = new Set(['UNAUTHENTICATED', 'FORBIDDEN']);

export function errorCode(error: GraphQLError): string {
  const code = error.extensions?.code;
  if (typeof code !== 'string') return 'INTERNAL_SERVER_ERROR';
  return KNOWN_CODES.has(code) || /^[A-Z_]{3,40}$/.test(code) ? code : 'OTHER';
}

export function useObservability(metrics: Metrics, log: Logger): Plugin {
  // Domain error codes are many but fixed by the code base; the regex above still admits only codes
  // shaped like ours, and this bound keeps a bug from growing the series without end.
  const seenCodes = new Set<string>();
  const codeLabel = (code: string) => {
    if (seenCodes.has(code) || KNOWN_CODES.has(code)) return code;
    if (seenCodes.size >= 100) return 'OTHER';
    seenCodes.add(code);
    return code;
  };
  return {
    onExecute({ args }) {
      const started = performance.now();
      const operation = getOperationAST(args.document, args.operationName ?? undefined);
      const type = operation?.operation ?? 'unknown';
      const name = metrics.operationLabel(args.operationName ?? operation?.name?.value);
      return {
        onExecuteDone({ result }) {
          metrics.graphqlDuration.observe({ operation: name, type }, (performance.now() - started) / 1000);
          if (!('errors' in result) || !result.errors) return;
          for (const error of result.errors) {
            const code = codeLabel(errorCode(error));
            metrics.graphqlErrors.inc({ code });
            if (REFUSALS.has(code)) log.info({ operation: name, code, path: error.path?.join('.') }, 'request refused');
            else if (type === 'mutation') log.info({ operation: name, code, path: error.path?.join('.'), error: error.message }, 'mutation failed');
          }
        },
      };
    },
  };
}
