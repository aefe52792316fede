/**
 * Starts what makes jobs move, next to the HTTP server: the device gateway (broker + report
 * ingestion + commands) and the rollout engine, plus the firmware download handler and /metrics.
 * app.ts calls this once the HTTP server listens (pushes carry its URL).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counters } from '../devices/counters.js';
import { loadDownloadTokens, type DownloadTokens } from '../devices/download-token.js';
import { startDeviceGateway, type DeviceGateway } from '../devices/gateway.js';
import { createFirmwareDownloadHandler } from '../http/firmware-download.js';
import type { AppServices } from '../services.js';
import { RolloutEngine } from './engine.js';

export interface Rollout {
  gateway: DeviceGateway | null;
  engine: RolloutEngine | null;
  counters: Counters;
  /** GET /firmware/{id}/download. */
  handleDownload(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** GET /metrics: the gateway's and the engine's counters (Prometheus text). */
  handleMetrics(req: IncomingMessage, res: ServerResponse): void;
  /** Starts the gateway and (unless disabled) the engine; `baseUrl` is where devices download from. */
  start(baseUrl: string): Promise<void>;
  close(): Promise<void>;
}

export function createRollout(services: AppServices): Rollout {
  const counters = new Counters();
  const log = (line: string) => console.log(line);
  let tokens: DownloadTokens | null = null;
  const download = createFirmwareDownloadHandler(services, () => tokens);
  const rollout: Rollout = {
    gateway: null,
    engine: null,
    counters,
    handleDownload: download,
    handleMetrics(_req, res) {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(counters.toPrometheus());
    },
    async start(baseUrl) {
      const { config } = services;
      tokens = await loadDownloadTokens(services.db, config.downloadTokenSecret, config.downloadTokenTtlSeconds);
      if (!config.engineEnabled) return;
      const gateway = await startDeviceGateway(services, { tokens, downloadBaseUrl: config.publicUrl ?? baseUrl, counters, log });
      rollout.gateway = gateway;
      const engine = new RolloutEngine(services, gateway.commands, { counters, log });
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
