/**
 * Assembles a running server: database (migrated), services, GraphQL over HTTP/SSE/WebSocket,
 * health check and the dashboard, on one port. Tests start it on port 0 and talk to it as clients.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type execute, GraphQLError, type subscribe } from 'graphql';
import { createYoga, maskError as defaultMaskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { BootstrapOutcome } from './auth/bootstrap.js';
import { type ConnectionExtra, type InitialContext, setUpAuthentication } from './auth/server-auth.js';
import type { ServerConfig } from './config.js';
import { createContext, type GraphQLContext } from './context.js';
import { openDatabase, type DatabaseHandle } from './db/client.js';
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
import { createStaticHandler } from './http/static.js';
import { createLiveHubs } from './live/index.js';
import { sharedSerialization, spliceSharedPayloads, useSharedSubscriptionExecution } from './live/shared-results.js';
import { createRollout, type Rollout } from './engine/rollout.js';
import { schema } from './schema/index.js';
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
  close(): Promise<void>;
}

const webDist = fileURLToPath(new URL('../../web/dist', import.meta.url));

/**
 * Errors with a code (domain errors, GraphQL parse/validation errors, BAD_USER_INPUT) reach the
 * client as they are; anything else is unexpected and masked (and logged by yoga).
 */
function maskError(error: unknown, message: string, isDev?: boolean): Error {
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

export async function startServer(config: ServerConfig, existingDatabase?: DatabaseHandle): Promise<RunningServer> {
  const database = existingDatabase ?? (await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: `${config.dataDir}/pglite` }));
  const events = createEventBus({ redisUrl: config.redisUrl });
  const secrets = await loadSecretBox(database.db, config.webhookSecretsKey);
  if (secrets.origin === 'database') {
    console.warn('webhooks: WEBHOOK_SECRETS_KEY is not set: signing secrets are encrypted with a key kept in the database itself (set it in production)');
  }
  const services: AppServices = {
    db: database.db,
    database,
    config,
    events,
    live: createLiveHubs({ db: database.db, events, config }),
    firmwareStore: createFirmwareStore(config.firmwareDir),
    webhooks: { secrets, targets: createTargetPolicy(config.webhookAllowedTargets) },
    trustedDocuments: createTrustedDocumentStore(database.db, events),
  };
  const auth = await setUpAuthentication(services);
  await registerDashboardManifest(database.db, webDist);
  const webhooks = createWebhookRuntime({ db: database.db, events, config, secrets, targets: services.webhooks.targets });

  const yoga: YogaServerInstance<InitialContext, GraphQLContext> = createYoga({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: { title: 'Updraft GraphQL', subscriptionsProtocol: 'WS' },
    maskedErrors: { maskError },
    cors: auth.cors,
    plugins: [
      // First: a document over a limit is refused before anything else looks at it.
      useDocumentLimits(config),
      ...auth.plugins,
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
  const exportCsv = createExportHandler(services, rollout.counters, (req) => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    return auth.requestAuth({ request: new Request(`http://localhost${req.url ?? '/'}`, { headers }), req });
  });
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/graphql' || path.startsWith('/graphql/')) return void yoga.handle(req, res);
    if (path === '/healthz') return void healthz(database, res);
    if (path.startsWith('/firmware/'))
      return void rollout.handleDownload(req, res).catch((error) => {
        console.error('firmware download error', error);
        if (!res.headersSent) res.writeHead(500).end();
      });
    if (path === '/metrics') return void rollout.handleMetrics(req, res);
    if (path.startsWith('/export/'))
      return void exportCsv(req, res).catch((error) => {
        console.error('export error', error);
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    return void serveStatic(req, res).catch((error) => {
      console.error('static file error', error);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });

  // ws reads a frame's length from its header and closes (1009) before buffering a longer one.
  const wsServer = new WebSocketServer({ server, path: '/graphql', maxPayload: config.wsMaxMessageBytes });
  useServer<Record<string, unknown>, ConnectionExtra>(
    {
      // Each live result is serialized once, whoever receives it (live/shared-results.ts).
      ...sharedSerialization,
      connectionInitWaitTimeout: config.wsConnectionInitTimeoutMs,
      onConnect: (ctx) => auth.onConnect(ctx),
      onClose: (ctx) => auth.onClose(ctx),
      execute: (args) => (args.rootValue as { execute: typeof execute }).execute(args),
      subscribe: (args) => (args.rootValue as { subscribe: typeof subscribe }).subscribe(args),
      onSubscribe: async (ctx, id, payload) => {
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
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        };
      },
    },
    wsServer,
    // graphql-ws pings every client this often and drops one that has not answered by the next ping.
    config.wsKeepAliveMs,
  );
  wsServer.on('connection', spliceSharedPayloads);

  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host}:${port}`;
  await rollout.start(url);
  webhooks.start();
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
    async close() {
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
    },
  };
}

async function healthz(database: DatabaseHandle, res: import('node:http').ServerResponse) {
  try {
    await database.rawQuery('select 1');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', database: database.kind }));
  } catch (error) {
    res
      .writeHead(503, { 'content-type': 'application/json' })
      .end(JSON.stringify({ status: 'unavailable', database: database.kind, error: String((error as Error).message) }));
  }
}
