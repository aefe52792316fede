/** Fleet-wide counters. Plain numbers on one object: cheap to bump from thousands of devices. */

export interface FleetStats {
  devices: number;
  /** Devices connected right now (a gauge, not a counter). */
  connected: number;
  connects: number;
  /** Connection errors reported by the MQTT client (refused credentials, broker gone…). */
  connectionErrors: number;
  messagesSent: number;
  messagesReceived: number;
  /** Messages the device could not decode (answered with 400 when an id could be read). */
  malformedReceived: number;
  badRequestReplies: number;
  pushesReceived: number;
  /** Pushes taken from a getversion reply rather than the upgrade topic. */
  pushesFromGetVersion: number;
  upgradesStarted: number;
  succeeded: number;
  declined: number;
  /** Pushes refused because the device was already upgrading another job. */
  busyRejected: number;
  cancelled: number;
  downloadFailed: number;
  verificationFailed: number;
  writeFailed: number;
  undefinedFailed: number;
  hung: number;
  downloadResumes: number;
  bytesDownloaded: number;
  /** Progress replies with code 764 (no task) or 765 (task not started). */
  progressRejected: number;
}

export function createFleetStats(devices: number): FleetStats {
  return {
    devices,
    connected: 0,
    connects: 0,
    connectionErrors: 0,
    messagesSent: 0,
    messagesReceived: 0,
    malformedReceived: 0,
    badRequestReplies: 0,
    pushesReceived: 0,
    pushesFromGetVersion: 0,
    upgradesStarted: 0,
    succeeded: 0,
    declined: 0,
    busyRejected: 0,
    cancelled: 0,
    downloadFailed: 0,
    verificationFailed: 0,
    writeFailed: 0,
    undefinedFailed: 0,
    hung: 0,
    downloadResumes: 0,
    bytesDownloaded: 0,
    progressRejected: 0,
  };
}

/** One line for logs: only the non-zero counters. */
export function formatStats(stats: FleetStats): string {
  return Object.entries(stats)
    .filter(([, value]) => value !== 0)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
}
