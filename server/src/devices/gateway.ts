/**
 * The device gateway: the broker connection (embedded or external), the report ingestion, the
 * commands to devices, and the cancel commands that domain functions ask for ('device:cancel').
 */
import { runWithLogContext } from '../observability/context.js';
import type { AppServices } from '../services.js';
import { DeviceCommands } from './commands.js';
import type { DownloadTokens } from './download-token.js';
import { startEmbeddedBroker } from './embedded-broker.js';
import { connectExternalBroker } from './external-broker.js';
import { ReportIngestor } from './ingest.js';
import type { DeviceTransport } from './transport.js';

export interface DeviceGateway {
  readonly transport: DeviceTransport;
  readonly commands: DeviceCommands;
  /** Where devices connect: the embedded broker's actual port, or MQTT_URL. */
  readonly deviceUrl: string;
  close(): Promise<void>;
}

export interface GatewayOptions {
  tokens: DownloadTokens;
  /** Base of the firmware download URLs put into pushes. */
  downloadBaseUrl: string;
}

export async function startDeviceGateway(services: AppServices, options: GatewayOptions): Promise<DeviceGateway> {
  const { config } = services;
  const { metrics } = services;
  const log = services.log.child({ component: 'gateway' });
  const ingestor = new ReportIngestor(
    services,
    metrics,
    {
      batchSize: Math.max(1, config.reportBatchSize),
      batchMs: config.reportBatchMs,
      concurrency: Math.max(1, config.reportBatchConcurrency),
      minuteMs: config.engineMinuteMs,
      presenceGraceMs: config.mqttUrl ? config.presenceGraceMs : null,
      orderHoldMs: config.reportOrderHoldMs,
    },
    log,
  );
  const onMessage = (message: Parameters<ReportIngestor['accept']>[0]) => ingestor.accept(message);
  const transport: DeviceTransport = config.mqttUrl
    ? await connectExternalBroker({
        url: config.mqttUrl,
        shareGroup: config.mqttShareGroup,
        connections: config.mqttConnections,
        instanceId: config.instanceId,
        sessionExpirySeconds: config.mqttSessionExpirySeconds,
        metrics,
        onMessage,
        log,
      })
    : await startEmbeddedBroker({
        db: services.db,
        host: config.mqttHost,
        port: config.mqttPort,
        metrics,
        limits: {
          maxPacketBytes: config.mqttMaxPacketBytes,
          maxConnectBytes: config.mqttMaxConnectBytes,
          connectTimeoutMs: config.mqttConnectTimeoutMs,
          messagesPerSecond: config.mqttDeviceMessagesPerSecond,
          burst: config.mqttDeviceBurst,
        },
        onMessage,
        log,
      });
  const commands = new DeviceCommands(transport, options.tokens, options.downloadBaseUrl, metrics);
  ingestor.attach(transport, commands);

  const cancels = services.events.subscribe('device:cancel');
  void (async () => {
    for await (const event of cancels) {
      for (const deviceKey of event.deviceKeys) commands.cancel(event.productKey, deviceKey, event.jobId);
      // The request that cancelled them, when one did (its id came along on the event).
      runWithLogContext(event.reqId ? { reqId: event.reqId } : {}, () =>
        log.info({ jobId: event.jobId, productKey: event.productKey, devices: event.deviceKeys.length }, 'cancel sent to devices'),
      );
    }
  })().catch((error: Error) => log.error({ err: error }, 'cancel loop ended'));

  return {
    transport,
    commands,
    deviceUrl: transport.deviceUrl,
    async close() {
      await cancels.return?.();
      // The broker first, so that no report arrives after the last batch.
      await transport.close();
      await ingestor.close();
    },
  };
}
