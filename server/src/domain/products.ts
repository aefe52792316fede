/** Products: the kinds of device an organisation unit runs, each with its fleet and firmware. */
import { and, asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Executor } from '../db/client.js';
import { products } from '../db/schema.js';
import { recordAudit } from './audit.js';
import { type Caller, requirePermission } from './caller.js';
import { AlreadyExistsError, NotFoundError, PermissionDeniedError } from './errors.js';
import { isUniqueViolation } from '../db/errors.js';
import { defaultInput, parseInput } from './validation.js';

export type Product = typeof products.$inferSelect;

/** Product keys appear in MQTT client ids (`{productKey}.{deviceKey}`) and topics: no '.', '/', '+', '#', '&'. */
export const productKey = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of letters, digits, _ and -');

const createProductInput = z.object({
  productKey,
  name: z.string().trim().min(1, 'must not be empty').max(100),
  description: defaultInput(z.string().max(2000), ''),
});
export type CreateProductInput = z.input<typeof createProductInput>;

export async function createProduct(db: Executor, caller: Caller, input: CreateProductInput): Promise<Product> {
  requirePermission(caller, 'DEVICE_WRITE');
  const values = parseInput(createProductInput, input);
  try {
    // Its own transaction (a savepoint inside one): the product and its audit row commit together.
    return await db.transaction(async (tx) => {
      const [row] = await tx
        .insert(products)
        .values({ ...values, ouId: caller.ouId })
        .returning();
      await recordAudit(tx, caller, {
        action: 'PRODUCT_CREATED',
        target: { type: 'PRODUCT', id: row.id, name: row.productKey },
        summary: `Product ${row.productKey} created`,
      });
      return row;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new AlreadyExistsError('product', 'productKey', values.productKey);
    throw error;
  }
}

/** Anyone who may read devices, firmware or jobs may see which products exist. */
export function requireProductReader(caller: Caller): void {
  const readers = ['DEVICE_READ', 'FIRMWARE_READ', 'OTA_READ'] as const;
  if (!readers.some((permission) => caller.permissions.has(permission))) throw new PermissionDeniedError('DEVICE_READ');
}

export async function listProducts(db: Executor, caller: Caller): Promise<Product[]> {
  requireProductReader(caller);
  return db.select().from(products).where(eq(products.ouId, caller.ouId)).orderBy(asc(products.productKey));
}

/** The product with this key in the caller's unit; NotFoundError otherwise. */
export async function getProductByKey(db: Executor, caller: Caller, key: string): Promise<Product> {
  const [row] = await db
    .select()
    .from(products)
    .where(and(eq(products.ouId, caller.ouId), eq(products.productKey, key)));
  if (!row) throw new NotFoundError('Product', key);
  return row;
}

/** The product with this id in the caller's unit, or null (a foreign or unknown id alike). */
export async function findProductId(db: Executor, caller: Caller, key: string | null | undefined): Promise<string | null | undefined> {
  if (key === undefined || key === null) return undefined;
  const [row] = await db
    .select({ id: products.id })
    .from(products)
    .where(and(eq(products.ouId, caller.ouId), eq(products.productKey, key)));
  return row?.id ?? null;
}
