/**
 * Cloud → device commands of DESIGN §4: the upgrade push and the cancel. The push's parameters
 * (with a fresh download URL) are built here too, for the engine's pushes and re-pushes and for
 * getversion replies alike.
 */
import { randomBytes } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { SignMethod } from '../db/schema.js';
import type { Metrics } from '../observability/metrics.js';
import type { DownloadTokens } from './download-token.js';
import { encodeRequest, otaTopic, type UpgradeParams } from './protocol.js';
import type { DeviceTransport } from './transport.js';

export interface FirmwareForPush {
  id: string;
  version: string;
  sign: string;
  signMethod: SignMethod;
  size: number;
}

export class DeviceCommands {
  constructor(
    private readonly transport: DeviceTransport,
    private readonly tokens: DownloadTokens,
    /** Base URL of the firmware download route, e.g. http://10.0.0.5:4000. */
    private readonly downloadBaseUrl: string,
    private readonly metrics: Metrics,
  ) {}

  upgradeParams(jobId: string, firmware: FirmwareForPush): UpgradeParams {
    return {
      jobId,
      otaJobId: otaJobId(jobId),
      version: firmware.version,
      sign: firmware.sign,
      signMethod: firmware.signMethod,
      fileUrl: `${this.downloadBaseUrl}/firmware/${firmware.id}/download?token=${this.tokens.mint(firmware.id)}`,
      fileSize: firmware.size,
    };
  }

  /** See DeviceTransport.connectedForMs. */
  connectedForMs(): number {
    return this.transport.connectedForMs();
  }

  /** `messageId` is stored on the task so that the device's reply can be matched to this push. */
  upgrade(productKey: string, deviceKey: string, messageId: string, params: UpgradeParams): void {
    this.metrics.pushesSent.inc();
    this.transport.publish(otaTopic(productKey, deviceKey, 'upgrade'), encodeRequest('upgrade', messageId, params));
  }

  cancel(productKey: string, deviceKey: string, jobId: string): void {
    this.metrics.cancelsSent.inc();
    this.transport.publish(otaTopic(productKey, deviceKey, 'cancel'), encodeRequest('cancel', newMessageId('c'), { jobId, otaJobId: otaJobId(jobId) }));
  }
}

/** The job as the GraphQL API names it (OtaJob.id), so that a device's owner can look it up there. */
function otaJobId(jobId: string): string {
  return encodeGlobalID('OtaJob', jobId);
}

/** Message ids are short random strings: unique enough to match a reply, never reused across pushes. */
export function newMessageId(prefix: string): string {
  return `${prefix}${randomBytes(9).toString('base64url')}`;
}
