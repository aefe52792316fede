/** Firmware: upload (hashed, size-limited, deduplicated per product), list and delete. */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { and, eq, inArray, isNull, or, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';

import { firmwares, jobTasks, otaJobs, SIGN_METHODS } from '../db/schema.js';
import { recordAudit } from './audit.js';
import { type Caller, requirePermission } from './caller.js';
import { AlreadyExistsError, FirmwareInUseError, NotFoundError, SignMismatchError } from './errors.js';
import { getProductByKey } from './products.js';
import { isUniqueViolation } from '../db/errors.js';
import { UNFINISHED_STATUSES } from './tasks/rules.js';
import { inTransaction } from './transaction.js';
import type { ServerConfig } from '../config.js';
import type { Database, Executor } from '../db/client.js';
import type { FirmwareStore } from './firmware-store.js';
import type { EventBus } from '../events/bus.js';
import { defaultInput, parseInput } from './validation.js';

export type Firmware = typeof firmwares.$inferSelect;

const uploadFirmwareInput = z.object({
  productKey: z.string(),
  name: z.string().trim().min(1, 'must not be empty').max(100),
  version: z.string().trim().min(1, 'must not be empty').max(64),
  signMethod: defaultInput(z.enum(SIGN_METHODS), 'SHA256'),
  /** When given, the upload is refused unless the file's digest equals it (hex, any case). */
  sign: z
    .string()
    .trim()
    .regex(/^[0-9a-fA-F]+$/, 'must be a hexadecimal digest')
    .transform((s) => s.toLowerCase())
    .nullish(),
  description: defaultInput(z.string().max(2000), ''),
  requireVerification: defaultInput(z.boolean(), false),
  minSuccessForVerified: z.number().int().min(1).max(5).nullish(),
});
export type UploadFirmwareInput = z.input<typeof uploadFirmwareInput> & {
  file: { name: string; stream: ReadableStream<Uint8Array> | Readable };
};

async function assertNameAndVersionFree(db: Executor, productId: string, name: string, version: string): Promise<void> {
  const [clash] = await db
    .select({ name: firmwares.name, version: firmwares.version })
    .from(firmwares)
    .where(and(eq(firmwares.productId, productId), isNull(firmwares.deletedAt), or(eq(firmwares.name, name), eq(firmwares.version, version))))
    .limit(1);
  if (clash?.version === version) throw new AlreadyExistsError('firmware', 'version', version);
  if (clash) throw new AlreadyExistsError('firmware', 'name', name);
}

/** What the firmware functions need of the server (services.ts provides it). */
export interface FirmwareDeps {
  db: Database;
  events: EventBus;
  config: Pick<ServerConfig, 'maxFirmwareBytes'>;
  firmwareStore: FirmwareStore;
}

export async function uploadFirmware(services: FirmwareDeps, caller: Caller, input: UploadFirmwareInput): Promise<Firmware> {
  requirePermission(caller, 'FIRMWARE_WRITE');
  const values = parseInput(uploadFirmwareInput, input);
  const product = await getProductByKey(services.db, caller, values.productKey);
  // Checked before the file is read so that a duplicate fails fast; the unique index settles races.
  await assertNameAndVersionFree(services.db, product.id, values.name, values.version);
  const staged = await services.firmwareStore.stage(input.file.stream, services.config.maxFirmwareBytes);
  try {
    const digest = values.signMethod === 'MD5' ? staged.md5 : staged.sha256;
    if (values.sign && values.sign !== digest) throw new SignMismatchError(values.signMethod, values.sign, digest);
    const id = randomUUID();
    const storageKey = `${id}.bin`;
    return await inTransaction(services, async ({ tx }) => {
      let row: Firmware;
      try {
        [row] = await tx
          .insert(firmwares)
          .values({
            id,
            ouId: caller.ouId,
            productId: product.id,
            name: values.name,
            version: values.version,
            signMethod: values.signMethod,
            sign: digest,
            size: staged.size,
            storageKey,
            fileName: input.file.name.slice(0, 255) || 'firmware.bin',
            description: values.description,
            requireVerification: values.requireVerification,
            minSuccessForVerified: values.minSuccessForVerified ?? null,
            createdBy: caller.userId,
          })
          .returning();
      } catch (error) {
        if (isUniqueViolation(error, 'firmwares_product_version_live')) throw new AlreadyExistsError('firmware', 'version', values.version);
        if (isUniqueViolation(error, 'firmwares_product_name_live')) throw new AlreadyExistsError('firmware', 'name', values.name);
        throw error;
      }
      await recordAudit(tx, caller, {
        action: 'FIRMWARE_UPLOADED',
        target: { type: 'FIRMWARE', id: row.id, name: `${row.name} ${row.version}` },
        summary: `Firmware ${row.name} ${row.version} uploaded for ${product.productKey} (${row.size.toLocaleString('en-US')} bytes)`,
        details: { productKey: product.productKey, version: row.version, size: row.size, signMethod: row.signMethod, sign: row.sign },
      });
      await services.firmwareStore.commit(staged, storageKey);
      return row;
    });
  } finally {
    await services.firmwareStore.discard(staged);
  }
}

export interface FirmwareFilter {
  /** Undefined: any product; null: a product key that does not exist here (matches nothing). */
  productId?: string | null;
}

export function firmwareCondition(caller: Caller, filter: FirmwareFilter) {
  return (table: typeof firmwares): SQL =>
    and(
      eq(table.ouId, caller.ouId),
      isNull(table.deletedAt),
      filter.productId === null ? sql`false` : undefined,
      filter.productId ? eq(table.productId, filter.productId) : undefined,
    )!;
}

export async function countFirmwares(db: Executor, caller: Caller, filter: FirmwareFilter): Promise<number> {
  requirePermission(caller, 'FIRMWARE_READ');
  return db.$count(firmwares, firmwareCondition(caller, filter)(firmwares));
}

/**
 * Names of the jobs that still need this firmware: jobs that can still push (scheduled, running
 * or stopped) and jobs with tasks not yet final.
 */
export async function jobsUsingFirmware(db: Executor, firmwareId: string): Promise<string[]> {
  const rows = await db
    .select({ name: otaJobs.name })
    .from(otaJobs)
    .where(
      and(
        eq(otaJobs.firmwareId, firmwareId),
        or(
          inArray(otaJobs.status, ['SCHEDULED', 'RUNNING', 'STOPPED']),
          sql`exists (select 1 from ${jobTasks} where ${jobTasks.jobId} = ${otaJobs.id} and ${inArray(jobTasks.status, [...UNFINISHED_STATUSES])})`,
        ),
      ),
    )
    .limit(20);
  return rows.map((r) => r.name);
}

/**
 * Deletes firmware nobody needs any more. The row stays (marked deleted) so that finished jobs
 * still show which firmware they pushed; the file goes and the name and version become free.
 */
export async function deleteFirmware(services: Omit<FirmwareDeps, 'config'>, caller: Caller, firmwareId: string): Promise<Firmware> {
  requirePermission(caller, 'FIRMWARE_DELETE');
  const deleted = await inTransaction(services, async ({ tx }) => {
    const [row] = await tx
      .select()
      .from(firmwares)
      .where(and(eq(firmwares.id, firmwareId), eq(firmwares.ouId, caller.ouId), isNull(firmwares.deletedAt)))
      .for('update');
    if (!row) throw new NotFoundError('Firmware', firmwareId);
    const users = await jobsUsingFirmware(tx, firmwareId);
    if (users.length > 0) throw new FirmwareInUseError(users);
    const [updated] = await tx.update(firmwares).set({ deletedAt: new Date() }).where(eq(firmwares.id, firmwareId)).returning();
    await recordAudit(tx, caller, {
      action: 'FIRMWARE_DELETED',
      target: { type: 'FIRMWARE', id: row.id, name: `${row.name} ${row.version}` },
      summary: `Firmware ${row.name} ${row.version} deleted`,
    });
    return updated;
  });
  await services.firmwareStore.remove(deleted.storageKey);
  return deleted;
}
