/** The fleet: registering devices (each gets its secret once), listing and deleting them. */
import { and, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Executor } from '../db/client.js';
import { devices } from '../db/schema.js';
import { auditedKeys, countOf, recordAudit } from './audit.js';
import { type Caller, requirePermission } from './caller.js';
import { AlreadyExistsError, InvalidInputError } from './errors.js';
import { deviceKey } from './jobs/settings.js';
import { getProductByKey } from './products.js';
import { generateSecret, hashSecret } from './secrets.js';
import { escapeLike } from './sql.js';
import type { TransactionScope } from './transaction.js';
import { parseInput } from './validation.js';

export type Device = typeof devices.$inferSelect;

export const MAX_DEVICES_PER_REGISTRATION = 10_000;

const registerDevicesInput = z.object({
  productKey: z.string(),
  devices: z
    .array(
      z.object({
        deviceKey,
        name: z.string().max(100).default(''),
        firmwareVersion: z.string().trim().min(1).max(64).nullish(),
        tags: z.record(z.string().min(1).max(64), z.string().max(256)).default({}),
      }),
    )
    .min(1, 'must list at least one device')
    .max(MAX_DEVICES_PER_REGISTRATION, `must list at most ${MAX_DEVICES_PER_REGISTRATION} devices`)
    .refine((list) => new Set(list.map((d) => d.deviceKey)).size === list.length, 'must not repeat a device key'),
});
export type RegisterDevicesInput = z.input<typeof registerDevicesInput>;

export interface RegisteredDevice {
  device: Device;
  /** Shown once: only its hash is stored. */
  secret: string;
}

export async function registerDevices({ tx, emit }: TransactionScope, caller: Caller, input: RegisterDevicesInput): Promise<RegisteredDevice[]> {
  requirePermission(caller, 'DEVICE_WRITE');
  const values = parseInput(registerDevicesInput, input);
  const product = await getProductByKey(tx, caller, values.productKey);
  const keys = values.devices.map((d) => d.deviceKey);
  const taken = await tx
    .select({ deviceKey: devices.deviceKey })
    .from(devices)
    .where(and(eq(devices.productId, product.id), inArray(devices.deviceKey, keys)));
  if (taken.length > 0) {
    throw new AlreadyExistsError('device', 'deviceKey', taken.map((t) => t.deviceKey).join(', '));
  }
  const secrets = values.devices.map(() => generateSecret());
  const rows: Device[] = [];
  // Chunked so that a 10,000-device registration stays under the driver's parameter limit.
  for (let i = 0; i < values.devices.length; i += 1000) {
    const chunk = values.devices.slice(i, i + 1000).map((d, j) => ({
      ouId: caller.ouId,
      productId: product.id,
      deviceKey: d.deviceKey,
      name: d.name,
      firmwareVersion: d.firmwareVersion ?? null,
      tags: d.tags,
      secretHash: hashSecret(secrets[i + j]),
    }));
    rows.push(...(await tx.insert(devices).values(chunk).returning()));
  }
  // INCREMENTAL jobs take in devices that come to match later.
  emit({ topic: 'engine:kick', args: [{ reason: 'devices registered', ouId: caller.ouId }] });
  await recordAudit(tx, caller, {
    action: 'DEVICES_REGISTERED',
    target: { type: 'PRODUCT', id: product.id, name: product.productKey },
    summary: `${countOf(rows.length, 'device')} registered in ${product.productKey}`,
    details: auditedKeys(keys, 0),
  });
  const secretByKey = new Map(values.devices.map((d, i) => [d.deviceKey, secrets[i]]));
  return rows.map((device) => ({ device, secret: secretByKey.get(device.deviceKey)! }));
}

export interface DeviceFilter {
  /** Undefined: any product; null: a product key that does not exist here (matches nothing). */
  productId?: string | null;
  /** Substring of the device key or name, case-insensitive. */
  search?: string | null;
  online?: boolean | null;
}

/** The caller's devices matching the filter, as a condition on a (possibly aliased) devices table. */
export function deviceCondition(caller: Caller, filter: DeviceFilter) {
  return (table: typeof devices): SQL => {
    const conditions: SQL[] = [eq(table.ouId, caller.ouId)];
    if (filter.productId === null) conditions.push(sql`false`);
    if (filter.productId) conditions.push(eq(table.productId, filter.productId));
    if (filter.online !== undefined && filter.online !== null) conditions.push(eq(table.online, filter.online));
    if (filter.search) {
      const pattern = `%${escapeLike(filter.search)}%`;
      conditions.push(sql`(${table.deviceKey} ilike ${pattern} or ${table.name} ilike ${pattern})`);
    }
    return and(...conditions)!;
  };
}

export async function countDevices(db: Executor, caller: Caller, filter: DeviceFilter): Promise<number> {
  requirePermission(caller, 'DEVICE_READ');
  return db.$count(devices, deviceCondition(caller, filter)(devices));
}

const deleteDevicesInput = z.object({
  productKey: z.string(),
  deviceKeys: z.array(deviceKey).min(1).max(MAX_DEVICES_PER_REGISTRATION),
});

/**
 * Deletes devices. Their tasks stay (with the device key) so job history keeps them; a task that
 * was not pushed yet will fail with DEVICE_NOT_FOUND when the engine reaches it.
 */
export async function deleteDevices({ tx, emit }: TransactionScope, caller: Caller, input: z.input<typeof deleteDevicesInput>): Promise<string[]> {
  requirePermission(caller, 'DEVICE_WRITE');
  const values = parseInput(deleteDevicesInput, input);
  const product = await getProductByKey(tx, caller, values.productKey);
  const deleted = await tx
    .delete(devices)
    .where(and(eq(devices.productId, product.id), inArray(devices.deviceKey, values.deviceKeys)))
    .returning({ deviceKey: devices.deviceKey });
  if (deleted.length === 0) throw InvalidInputError.single(['input', 'deviceKeys'], 'none of these devices exist in the product');
  emit({ topic: 'engine:kick', args: [{ reason: 'devices deleted', ouId: caller.ouId }] });
  await recordAudit(tx, caller, {
    action: 'DEVICES_DELETED',
    target: { type: 'PRODUCT', id: product.id, name: product.productKey },
    summary: `${countOf(deleted.length, 'device')} deleted from ${product.productKey}`,
    details: auditedKeys(
      deleted.map((d) => d.deviceKey),
      values.deviceKeys.length - deleted.length,
    ),
  });
  return deleted.map((d) => d.deviceKey);
}
