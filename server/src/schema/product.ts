import { builder } from '../builder.js';
import { AlreadyExistsError, InvalidInputError } from '../domain/errors.js';
import { createProduct, listProducts } from '../domain/products.js';
import { callerOf } from './support.js';

/** Anyone who reads devices, firmware or jobs sees the products they belong to. */
export const PRODUCT_READERS = ['DEVICE_READ', 'FIRMWARE_READ', 'OTA_READ'] as const;

export const Product = builder.drizzleNode('products', {
  name: 'Product',
  id: { column: (p) => p.id },
  authScopes: { anyPermission: PRODUCT_READERS },
  fields: (t) => ({
    productKey: t.exposeString('productKey'),
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    deviceCount: t.relatedCount('devices', { authScopes: { permission: 'DEVICE_READ' } }),
  }),
});

builder.queryField('products', (t) =>
  t.field({
    type: [Product],
    description: "The caller's organisation unit's products.",
    authScopes: { anyPermission: PRODUCT_READERS },
    resolve: (_root, _args, context) => listProducts(context.services.db, callerOf(context)),
  }),
);

const CreateProductInput = builder.inputType('CreateProductInput', {
  fields: (t) => ({
    productKey: t.string({ required: true, description: 'Unique; letters, digits, _ and -, up to 64.' }),
    name: t.string({ required: true }),
    description: t.string(),
  }),
});

builder.mutationField('createProduct', (t) =>
  t.field({
    type: Product,
    authScopes: { permission: 'DEVICE_WRITE' },
    args: { input: t.arg({ type: CreateProductInput, required: true }) },
    errors: { types: [InvalidInputError, AlreadyExistsError] },
    resolve: (_root, { input }, context) => createProduct(context.services.db, callerOf(context), input),
  }),
);
