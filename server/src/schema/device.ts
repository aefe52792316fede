import { builder } from '../builder.js';
import { countDevices, deleteDevices, deviceCondition, registerDevices, type RegisteredDevice } from '../domain/devices.js';
import { AlreadyExistsError, InvalidInputError, NotFoundError } from '../domain/errors.js';
import { findProductId } from '../domain/products.js';
import { assertPageSize, callerOf, transact } from './support.js';

/** Devices are read by fleet operators, and by OTA operators through the jobs that target them. */
export const DEVICE_READERS = ['DEVICE_READ', 'OTA_READ'] as const;

const Tag = builder.objectRef<{ key: string; value: string }>('Tag').implement({
  fields: (t) => ({ key: t.exposeString('key'), value: t.exposeString('value') }),
});

export const Device = builder.drizzleNode('devices', {
  name: 'Device',
  id: { column: (d) => d.id },
  authScopes: { anyPermission: DEVICE_READERS },
  fields: (t) => ({
    deviceKey: t.exposeString('deviceKey'),
    name: t.exposeString('name'),
    product: t.relation('product'),
    firmwareVersion: t.exposeString('firmwareVersion', { nullable: true, description: 'The version the device last reported.' }),
    online: t.exposeBoolean('online'),
    lastSeenAt: t.expose('lastSeenAt', { type: 'DateTime', nullable: true }),
    tags: t.field({
      type: [Tag],
      select: { columns: { tags: true } },
      resolve: (device) => Object.entries(device.tags).map(([key, value]) => ({ key, value })),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryField('devices', (t) =>
  t.drizzleConnection(
    {
      type: 'devices',
      authScopes: { permission: 'DEVICE_READ' },
      args: {
        productKey: t.arg.string(),
        search: t.arg.string({ description: 'Part of the device key or name, any case.' }),
        online: t.arg.boolean(),
      },
      totalCount: async (_root, args, context) => {
        const caller = callerOf(context);
        const productId = await findProductId(context.services.db, caller, args.productKey);
        return countDevices(context.services.db, caller, { productId, search: args.search, online: args.online });
      },
      resolve: async (query, _root, args, context) => {
        assertPageSize(args);
        const caller = callerOf(context);
        const productId = await findProductId(context.services.db, caller, args.productKey);
        const condition = deviceCondition(caller, { productId, search: args.search, online: args.online });
        return context.services.db.query.devices.findMany(query({ where: { RAW: (table) => condition(table) }, orderBy: { deviceKey: 'asc' } }));
      },
    },
    { name: 'DeviceConnection' },
    { name: 'DeviceEdge' },
  ),
);

const TagInput = builder.inputType('TagInput', {
  fields: (t) => ({ key: t.string({ required: true }), value: t.string({ required: true }) }),
});

const NewDeviceInput = builder.inputType('NewDeviceInput', {
  fields: (t) => ({
    deviceKey: t.string({ required: true }),
    name: t.string(),
    firmwareVersion: t.string({ description: 'The version the device runs now, if known before it connects.' }),
    tags: t.field({ type: [TagInput] }),
  }),
});

const RegisterDevicesInput = builder.inputType('RegisterDevicesInput', {
  fields: (t) => ({
    productKey: t.string({ required: true }),
    devices: t.field({ type: [NewDeviceInput], required: true, description: 'Up to 10,000 devices per call.' }),
  }),
});

const RegisteredDeviceRef = builder.objectRef<RegisteredDevice>('RegisteredDevice').implement({
  fields: (t) => ({
    device: t.field({ type: Device, resolve: (r) => r.device }),
    secret: t.exposeString('secret', { description: 'The device secret (its MQTT password). Shown only once.' }),
  }),
});

builder.mutationField('registerDevices', (t) =>
  t.field({
    type: [RegisteredDeviceRef],
    authScopes: { permission: 'DEVICE_WRITE' },
    args: { input: t.arg({ type: RegisterDevicesInput, required: true }) },
    errors: { types: [InvalidInputError, NotFoundError, AlreadyExistsError] },
    resolve: (_root, { input }, context) =>
      transact(context, (scope) =>
        registerDevices(scope, callerOf(context), {
          productKey: input.productKey,
          devices: input.devices.map((d) => ({
            deviceKey: d.deviceKey,
            name: d.name ?? undefined,
            firmwareVersion: d.firmwareVersion,
            tags: d.tags ? Object.fromEntries(d.tags.map((tag) => [tag.key, tag.value])) : undefined,
          })),
        }),
      ),
  }),
);

const DeleteDevicesInput = builder.inputType('DeleteDevicesInput', {
  fields: (t) => ({
    productKey: t.string({ required: true }),
    deviceKeys: t.stringList({ required: true }),
  }),
});

builder.mutationField('deleteDevices', (t) =>
  t.stringList({
    description: 'Deletes devices; returns the keys deleted. Their unpushed tasks will fail with DEVICE_NOT_FOUND.',
    authScopes: { permission: 'DEVICE_WRITE' },
    args: { input: t.arg({ type: DeleteDevicesInput, required: true }) },
    errors: { types: [InvalidInputError, NotFoundError] },
    resolve: (_root, { input }, context) => transact(context, (scope) => deleteDevices(scope, callerOf(context), input)),
  }),
);
