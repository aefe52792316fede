/**
 * Assembles a running server: database (migrated), services, GraphQL over HTTP/SSE/WebSocket,
 * health check and the dashboard, on one port. Tests start it on port 0 and talk to it as clients.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type execute, getOperationAST, GraphQLError, type subscribe } from 'graphql';
import { createYoga, maskError as defaultMaskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { Context as GraphQLWsContext, SubscribePayload } from 'graphql-ws';
import { type Extra as WsExtra, useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { BootstrapOutcome } from './auth/bootstrap.js';
import { createApiRateLimits } from './auth/rate-limit.js';
import { type ConnectionExtra, type InitialContext, setUpAuthentication } from './auth/server-auth.js';
import type { ServerConfig } from './config.js';
import { createContext, type GraphQLContext } from './context.js';
import { openDatabase, type DatabaseHandle } from './db/client.js';
import { isDatabaseUnavailable } from './db/errors.js';
import type { Caller } from './domain/caller.js';
import { DomainError } from './domain/errors.js';
import { createExportHandler } from './http/export.js';
import { createFirmwareStore } from './domain/firmware-store.js';
import { createEventBus } from './events/bus.js';
import { registerDashboardManifest } from './documents/manifest.js';
import { useQueryCost } from './documents/cost.js';
import { useTextArguments } from './documents/input-text.js';
import { boundedParseCache, documentLengthError, useDocumentLimits } from './documents/limits.js';
import { resolveSubscribeDocument, useTrustedDocuments } from './documents/plugin.js';
import { createTrustedDocumentStore } from './documents/store.js';
import { loadSecretBox } from './domain/webhooks/secret-box.js';
import { createTargetPolicy } from './domain/webhooks/targets.js';
import { createWebhookRuntime, type WebhookRuntime } from './webhooks/index.js';
import { createReadiness, type Readiness } from './http/readiness.js';
import { createStaticHandler } from './http/static.js';
import { createLiveHubs } from './live/index.js';
import { sharedSerialization, spliceSharedPayloads, useSharedSubscriptionExecution } from './live/shared-results.js';
import { createRollout, type Rollout } from './engine/rollout.js';
import { schema } from './schema/index.js';
import { REQUEST_ID_HEADER, requestIdFrom, runWithLogContext } from './observability/context.js';
import { useObservability } from './observability/graphql.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import type { AppServices } from './services.js';

export interface RunningServer {
  url: string;
  graphqlUrl: string;
  wsUrl: string;
  port: number;
  services: AppServices;
  /** The device gateway and the rollout engine (null parts when ENGINE=false). */
  rollout: Rollout;
  /**
   * The first unit's administrator acting with every permission, for seeding demo data (requests
   * act as whoever their credentials name).
   */
  adminCaller: Caller;
  /** The graphql-ws socket server (tests look at its clients' send buffers). */
  webSocketServer: WebSocketServer;
  /** What the first-start bootstrap did (main.ts prints the generated admin token once). */
  bootstrap: BootstrapOutcome;
  /** The webhook dispatcher and job.progress emitter of this instance. */
  webhooks: WebhookRuntime;
  /** /healthz and /readyz (http/readiness.ts): start-up work, dependency checks. */
  readiness: Readiness;
  /** Marks one of StartOptions.startupWork done. */
  startupDone(name: string): void;
  close(): Promise<void>;
}

export interface StartOptions {
  /**
   * Start-up work the caller does after startServer returns (main.ts: the demo data): /readyz
   * answers 503 until each is marked done with `startupDone(name)`.
   */
  startupWork?: readonly string[];
  /** The instance's log (default: stdout at config.logLevel; tests pass one that captures lines). */
  log?: Logger;
}

const webDist = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** Seconds a client waits before it sends a request the database could not serve again. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

/**
 * The database cannot be reached: a typed error (docs/api.md, SERVICE_UNAVAILABLE), HTTP 503 with
 * Retry-After, and none of the driver's words (addresses, ports, errno) in it.
 */
function databaseUnavailable(error: GraphQLError | null): GraphQLError {
  return new GraphQLError('The database is unavailable; try again in a few seconds.', {
    path: error?.path,
    nodes: error?.nodes,
    extensions: { code: 'SERVICE_UNAVAILABLE', http: { status: 503, headers: { 'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS) } } },
  });
}

/**
 * Errors with a code (domain errors, GraphQL parse/validation errors, BAD_USER_INPUT) reach the
 * client as they are; the database being away becomes SERVICE_UNAVAILABLE; anything else is
 * unexpected and masked (and logged by yoga).
 */
function maskError(error: unknown, message: string, isDev?: boolean): Error {
  if (isDatabaseUnavailable(error instanceof GraphQLError ? error.originalError : error)) {
    return databaseUnavailable(error instanceof GraphQLError ? error : null);
  }
  if (error instanceof GraphQLError) {
    const original = error.originalError;
    if (!original || original instanceof GraphQLError || original instanceof DomainError) return error;
    if ((original as { extensions?: { code?: unknown } }).extensions?.code) return error;
  }
  return defaultMaskError(error, message, isDev);
}

/** A multipart body (a firmware upload) may be this much larger than the firmware it carries. */
export const MULTIPART_OVERHEAD_BYTES = 1024 * 1024;

function bodyLimitError(message: string, status: number, code: string): GraphQLError {
  return new GraphQLError(message, { extensions: { http: { status }, code } });
}

/**
 * Yoga's request body limit, without its cost on every request: yoga pipes every body through a
 * byte-counting stream and a new Request (a tenth of a millisecond and a stream's garbage per
 * request, measured on the job query). A body with a Content-Length is checked by the header alone:
 * node's HTTP parser delivers exactly that many bytes and no more. A body without one (chunked) is
 * counted as yoga counts it. Runs where yoga's own would (last of the plugins given to createYoga),
 * so it wraps whichever request parser was chosen.
 */
function useRequestBodyLimit(limitOf: (request: Request) => number): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const limit = limitOf(request);
      const contentLength = request.headers.get('content-length');
      if (contentLength !== null) {
        if (!/^\d+$/.test(contentLength)) throw bodyLimitError('Content-Length header is invalid.', 400, 'BAD_REQUEST');
        if (Number(contentLength) > limit) throw bodyLimitError('Request body too large', 413, 'REQUEST_ENTITY_TOO_LARGE');
        return;
      }
      if (!requestParser || !request.body) return;
      const parse = requestParser;
      setRequestParser((req) => {
        if (!req.body) return parse(req);
        const Transform = req.body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
        let bytesRead = 0;
        const counted = req.body.pipeThrough(
          new Transform({
            transform(chunk: Uint8Array, controller: TransformStreamDefaultController<Uint8Array>) {
              bytesRead += chunk.byteLength;
              if (bytesRead > limit) controller.error(bodyLimitError('Request body too large', 413, 'REQUEST_ENTITY_TOO_LARGE'));
              else controller.enqueue(chunk);
            },
          }),
        );
        return parse(
          new fetchAPI.Request(req.url, { method: req.method, headers: req.headers, signal: req.signal, body: counted, duplex: 'half' } as RequestInit),
        );
      });
    },
  };
}

type WsContext = GraphQLWsContext<Record<string, unknown>, WsExtra & Partial<ConnectionExtra>>;

/** Subscription fields as label values of updraft_live_subscribers (a fixed set: the schema's). */
const SUBSCRIPTION_FIELDS = new Set(Object.keys(schema.getSubscriptionType()?.getFields() ?? {}));

export async function startServer(config: ServerConfig, existingDatabase?: DatabaseHandle, options: StartOptions = {}): Promise<RunningServer> {
  const log = options.log ?? createLogger({ level: config.logLevel });
  const metrics: Metrics = createMetrics();
  const readiness = createReadiness({ requires: config.readyRequires });
  const startedUp = readiness.startup('server start-up');
  const callerWork = new Map((options.startupWork ?? []).map((name) => [name, readiness.startup(name)]));
  const database = existingDatabase ?? (await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: `${config.dataDir}/pglite` }));
  const events = createEventBus({ redisUrl: config.redisUrl, log });
  const secrets = await loadSecretBox(database.db, config.webhookSecretsKey);
  if (secrets.origin === 'database') {
    log.warn('webhooks: WEBHOOK_SECRETS_KEY is not set: signing secrets are encrypted with a key kept in the database itself (set it in production)');
  }
  const services: AppServices = {
    db: database.db,
    database,
    config,
    events,
    log,
    metrics,
    live: createLiveHubs({ db: database.db, events, config, log, metrics }),
    firmwareStore: createFirmwareStore(config.firmwareDir),
    webhooks: { secrets, targets: createTargetPolicy(config.webhookAllowedTargets) },
    trustedDocuments: createTrustedDocumentStore(database.db, events),
  };
  const auth = await setUpAuthentication(services);
  await registerDashboardManifest(database.db, webDist);
  const webhooks = createWebhookRuntime({ db: database.db, events, config, secrets, targets: services.webhooks.targets, logger: log });
  const stopJobStatusLog = logJobStatusChanges(services);

  const rateLimits = createApiRateLimits({
    perCredentialPerMinute: config.apiRateLimitPerMinute,
    perAddressPerMinute: config.apiAnonymousRateLimitPerMinute,
  });
  const yoga: YogaServerInstance<InitialContext, GraphQLContext> = createYoga({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: { title: 'Updraft GraphQL', subscriptionsProtocol: 'WS' },
    maskedErrors: { maskError },
    cors: auth.cors,
    logging: yogaLogging(log),
    plugins: [
      // First: a document over a limit is refused before anything else looks at it.
      useDocumentLimits(config),
      useObservability(metrics, log),
      ...auth.plugins,
      {
        // Per credential, or per address without one (auth/rate-limit.ts); before any parsing.
        async onParams({ request, context, setResult }) {
          const { identity, clientAddress } = await auth.requestAuth({ request, req: (context as { req?: InitialContext['req'] }).req });
          const refused = rateLimits.check(identity?.credential.tokenId ?? null, clientAddress);
          if (refused) setResult({ errors: [refused] });
        },
      },
      ...useTrustedDocuments({
        store: services.trustedDocuments,
        credentialOf: async (request, serverContext) =>
          (await auth.requestAuth({ request, req: serverContext.req as InitialContext['req'] })).identity?.credential ?? null,
      }),
      useTextArguments(),
      // After validation, before execution: what the answer could hold (documents/cost.ts).
      useQueryCost(config.maxQueryComplexity),
      useSharedSubscriptionExecution(),
      useRequestBodyLimit((request) =>
        request.headers.get('content-type')?.toLowerCase().startsWith('multipart/form-data')
          ? config.maxFirmwareBytes + MULTIPART_OVERHEAD_BYTES
          : config.maxRequestBodyBytes,
      ),
    ],
    maxRequestBodySize: false,
    parserAndValidationCache: { documentCache: boundedParseCache(), errorCache: boundedParseCache() },
    context: async (initial) => createContext(services, await auth.requestAuth(initial)),
  });

  const rollout = createRollout(services);
  const serveStatic = createStaticHandler(webDist);
  const exportCsv = createExportHandler(services, (req) => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    return auth.requestAuth({ request: new Request(`http://localhost${req.url ?? '/'}`, { headers }), req });
  });
  const httpLog = log.child({ component: 'http' });
  const route = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, path: string) => {
    if (path === '/graphql' || path.startsWith('/graphql/')) return void yoga.handle(req, res);
    if (path === '/healthz') return readiness.handleLive(req, res);
    if (path === '/readyz') return void readiness.handleReady(req, res);
    if (path.startsWith('/firmware/'))
      return void rollout.handleDownload(req, res).catch((error) => {
        httpLog.error({ path, err: error }, 'firmware download error');
        if (!res.headersSent) res.writeHead(500).end();
      });
    if (path === '/metrics')
      return void rollout.handleMetrics(req, res).catch((error) => {
        httpLog.error({ err: error }, 'metrics error');
        if (!res.headersSent) res.writeHead(500).end();
      });
    if (path.startsWith('/export/'))
      return void exportCsv(req, res).catch((error) => {
        httpLog.error({ path, err: error }, 'export error');
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    return void serveStatic(req, res).catch((error) => {
      httpLog.error({ path, err: error }, 'static file error');
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
  const server: Server = createServer((req, res) => {
    // Every request has an id: the caller's X-Request-Id when it is sane, else a new one; echoed in
    // the response and carried by every log line the request leads to.
    const reqId = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
    res.setHeader(REQUEST_ID_HEADER, reqId);
    // The path only: query strings carry download tokens.
    const path = (req.url ?? '/').split('?')[0];
    if (httpLog.isLevelEnabled('debug')) {
      const started = performance.now();
      res.once('finish', () =>
        runWithLogContext({ reqId }, () =>
          httpLog.debug({ method: req.method, path, status: res.statusCode, ms: Math.round(performance.now() - started) }, 'request'),
        ),
      );
    }
    runWithLogContext({ reqId }, () => route(req, res, path));
  });

  // ws reads a frame's length from its header and closes (1009) before buffering a longer one.
  const wsServer = new WebSocketServer({ server, path: '/graphql', maxPayload: config.wsMaxMessageBytes });
  // A WebSocket connection's id is echoed in the upgrade response; its operations are `{id}/{n}`.
  const connectionIds = new WeakMap<object, string>();
  wsServer.on('headers', (headers, req) => {
    const reqId = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
    connectionIds.set(req, reqId);
    headers.push(`X-Request-Id: ${reqId}`);
  });
  const operationId = (ctx: { extra: { request: object } }, id: string) => `${connectionIds.get(ctx.extra.request) ?? 'ws'}/${id}`;
  /** Open subscriptions per connection context, by operation id, with their label. */
  const openSubscriptions = new WeakMap<object, Map<string, string>>();
  useServer<Record<string, unknown>, ConnectionExtra>(
    {
      // Each live result is serialized once, whoever receives it (live/shared-results.ts).
      ...sharedSerialization,
      connectionInitWaitTimeout: config.wsConnectionInitTimeoutMs,
      onConnect: (ctx) => auth.onConnect(ctx),
      onClose: (ctx) => auth.onClose(ctx),
      execute: (args) => {
        const root = args.rootValue as { execute: typeof execute; reqId: string };
        return runWithLogContext({ reqId: root.reqId }, () => root.execute(args));
      },
      subscribe: (args) => {
        const root = args.rootValue as { subscribe: typeof subscribe; reqId: string };
        return runWithLogContext({ reqId: root.reqId }, () => root.subscribe(args));
      },
      onOperation: (ctx, id, _payload, args, result) => {
        if (!result || typeof result !== 'object' || !(Symbol.asyncIterator in result)) return;
        const operation = getOperationAST(args.document, args.operationName ?? undefined);
        const field = operation?.selectionSet.selections[0];
        const name = field?.kind === 'Field' ? field.name.value : '';
        const label = SUBSCRIPTION_FIELDS.has(name) ? name : 'other';
        let open = openSubscriptions.get(ctx);
        if (!open) openSubscriptions.set(ctx, (open = new Map()));
        open.set(id, label);
        metrics.liveSubscribers.inc({ subscription: label });
      },
      onComplete: (ctx, id) => {
        const label = openSubscriptions.get(ctx)?.get(id);
        if (label === undefined) return;
        openSubscriptions.get(ctx)!.delete(id);
        metrics.liveSubscribers.dec({ subscription: label });
      },
      onSubscribe: (ctx, id, payload) => runWithLogContext({ reqId: operationId(ctx, id) }, () => subscribeOperation(ctx, id, payload)),
    },
    wsServer,
    // graphql-ws pings every client this often and drops one that has not answered by the next ping.
    config.wsKeepAliveMs,
  );
  wsServer.on('connection', spliceSharedPayloads);

  async function subscribeOperation(ctx: WsContext, id: string, payload: SubscribePayload) {
    const refused = rateLimits.check(ctx.extra.watchedCredential?.tokenId ?? null, ctx.extra.request.socket.remoteAddress ?? '');
    if (refused) return [refused];
    const enveloped = yoga.getEnveloped({
      ...ctx,
      req: ctx.extra.request,
      socket: ctx.extra.socket,
      // With the socket: where live results may be delivered directly (live/shared-results.ts).
      subscriptionId: id,
      params: payload,
      connectionParams: ctx.connectionParams ?? {},
    });
    // Trusted documents: a documentId instead of the query; restricted credentials send nothing else.
    const resolved = await resolveSubscribeDocument(services.trustedDocuments, payload, ctx.extra.watchedCredential ?? null);
    if ('error' in resolved) return [resolved.error];
    const tooLong = documentLengthError(resolved.query, config);
    if (tooLong) return [tooLong];
    let document: ReturnType<typeof enveloped.parse>;
    try {
      document = enveloped.parse(resolved.query);
    } catch (error) {
      return [error instanceof GraphQLError ? error : new GraphQLError(String(error))];
    }
    const errors = enveloped.validate(enveloped.schema, document);
    if (errors.length > 0) return errors;
    return {
      schema: enveloped.schema,
      operationName: payload.operationName,
      document,
      variableValues: payload.variables,
      contextValue: await enveloped.contextFactory(),
      rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe, reqId: operationId(ctx, id) },
    };
  }

  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host}:${port}`;
  await rollout.start(url);
  webhooks.start();
  readiness.add({ name: 'database', probe: async () => (await database.rawQuery('select 1')).length === 1 });
  const gateway = rollout.gateway;
  // Every broker connection up (connectedForMs is 0 while one is away).
  if (gateway) readiness.add({ name: 'broker', probe: () => gateway.transport.connectedForMs() > 0 });
  if (events.kind === 'redis') readiness.add({ name: 'redis', probe: () => events.connected() });
  startedUp();
  return {
    url,
    graphqlUrl: `${url}/graphql`,
    wsUrl: `ws://${host}:${port}/graphql`,
    port,
    services,
    rollout,
    webSocketServer: wsServer,
    adminCaller: auth.bootstrap.adminCaller,
    bootstrap: auth.bootstrap,
    webhooks,
    readiness,
    startupDone(name: string) {
      callerWork.get(name)?.();
    },
    async close() {
      stopJobStatusLog();
      readiness.close();
      await webhooks.close();
      await rollout.close();
      await auth.close();
      for (const client of wsServer.clients) client.terminate();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
      await services.live.close();
      await services.trustedDocuments.close();
      await services.events.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (!existingDatabase) await database.close();
      log.flush();
    },
  };
}

/** Yoga's own messages (unexpected errors it masks, above all) into the instance's log. */
function yogaLogging(log: Logger) {
  const yogaLog = log.child({ component: 'graphql' });
  const line =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]) => {
      const [first, ...rest] = args;
      if (first instanceof Error) yogaLog[level]({ err: first }, first.message);
      else yogaLog[level](rest.length > 0 ? { detail: rest } : {}, String(first));
    };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}

/** One line and one count per job status change made on this instance (domain/jobs/events.ts). */
function logJobStatusChanges(services: AppServices): () => void {
  const jobLog = services.log.child({ component: 'jobs' });
  const changes = services.events.subscribe('job:status');
  void (async () => {
    for await (const event of changes) {
      services.metrics.jobStateChanges.inc({ change: event.change });
      runWithLogContext(event.reqId ? { reqId: event.reqId } : {}, () =>
        jobLog.info({ jobId: event.jobId, ouId: event.ouId, change: event.change, status: event.status }, `job ${event.change}`),
      );
    }
  })().catch((error: Error) => jobLog.error({ err: error }, 'job status log ended'));
  return () => void changes.return?.();
}
