/**
 * Starts what makes jobs move, next to the HTTP server: the device gateway (broker + report
 * ingestion + commands) and the rollout engine, plus the firmware download handler and /metrics.
 * app.ts calls this once the HTTP server listens (pushes carry its URL).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadDownloadTokens, type DownloadTokens } from '../devices/download-token.js';
import { startDeviceGateway, type DeviceGateway } from '../devices/gateway.js';
import { createFirmwareDownloadHandler } from '../http/firmware-download.js';
import type { AppServices } from '../services.js';
import { RolloutEngine } from './engine.js';

export interface Rollout {
  gateway: DeviceGateway | null;
  engine: RolloutEngine | null;
  /** GET /firmware/{id}/download. */
  handleDownload(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** GET /metrics: every metric of this instance (observability/metrics.ts), Prometheus text. */
  handleMetrics(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Starts the gateway and (unless disabled) the engine; `baseUrl` is where devices download from. */
  start(baseUrl: string): Promise<void>;
  close(): Promise<void>;
}

export function createRollout(services: AppServices): Rollout {
  let tokens: DownloadTokens | null = null;
  const download = createFirmwareDownloadHandler(services, () => tokens);
  const rollout: Rollout = {
    gateway: null,
    engine: null,
    handleDownload: download,
    async handleMetrics(_req, res) {
      const { contentType, body } = await services.metrics.text();
      res.writeHead(200, { 'content-type': contentType }).end(body);
    },
    async start(baseUrl) {
      const { config } = services;
      tokens = await loadDownloadTokens(services.db, config.downloadTokenSecret, config.downloadTokenTtlSeconds);
      if (!config.engineEnabled) return;
      const gateway = await startDeviceGateway(services, { tokens, downloadBaseUrl: config.publicUrl ?? baseUrl });
      rollout.gateway = gateway;
      const engine = new RolloutEngine(services, gateway.commands);
      rollout.engine = engine;
      engine.start();
    },
    async close() {
      await rollout.engine?.stop();
      await rollout.gateway?.close();
    },
  };
  return rollout;
}
