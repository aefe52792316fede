/** The fleet file: a JSON array of device credentials and current versions (see docs/simulator.md). */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { DEVICE_KEY_PATTERN, PRODUCT_KEY_PATTERN } from '../devices/protocol.js';
import { BEHAVIOURS, type Behaviour } from './behaviour.js';

export interface FleetDeviceSpec {
  productKey: string;
  deviceKey: string;
  secret: string;
  /** Firmware version the device runs at start. */
  version: string;
  /** Optional fixed behaviour; overrides the mix (handy for tests and demos). */
  behaviour?: Behaviour;
}

export const fleetDeviceSchema = z.object({
  productKey: z.string().regex(PRODUCT_KEY_PATTERN, 'productKey: letters, digits, _ and -, at most 64'),
  deviceKey: z.string().regex(DEVICE_KEY_PATTERN, 'deviceKey: letters, digits, _ - . :, at most 64'),
  secret: z.string().min(1),
  version: z.string().min(1).max(128),
  behaviour: z.enum(BEHAVIOURS).optional(),
});

export const fleetFileSchema = z.array(fleetDeviceSchema);

/** Validates a parsed fleet; throws with the first problems, including duplicate devices. */
export function parseFleet(value: unknown): FleetDeviceSpec[] {
  const result = fleetFileSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues
      .slice(0, 5)
      .map((issue) => `[${issue.path.join('.')}] ${issue.message}`)
      .join('; ');
    throw new Error(`invalid fleet: ${problems}`);
  }
  const seen = new Set<string>();
  for (const device of result.data) {
    const key = `${device.productKey}/${device.deviceKey}`;
    if (seen.has(key)) throw new Error(`invalid fleet: device ${key} appears twice`);
    seen.add(key);
  }
  return result.data;
}

export async function loadFleetFile(path: string): Promise<FleetDeviceSpec[]> {
  const text = await readFile(path, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`fleet file ${path} is not JSON: ${(error as Error).message}`);
  }
  return parseFleet(value);
}
