import { builder } from '../builder.js';
import { AlreadyExistsError, FileTooLargeError, FirmwareInUseError, InvalidInputError, NotFoundError, SignMismatchError } from '../domain/errors.js';
import { countFirmwares, deleteFirmware, firmwareCondition, jobsUsingFirmware, uploadFirmware } from '../domain/firmware.js';
import { findProductId } from '../domain/products.js';
import { SignMethod } from './enums.js';
import { assertPageSize, callerOf, decodeId } from './support.js';

/** Firmware is read by firmware managers, and by OTA operators through the jobs that push it. */
export const FIRMWARE_READERS = ['FIRMWARE_READ', 'OTA_READ'] as const;

export const Firmware = builder.drizzleNode('firmwares', {
  name: 'Firmware',
  id: { column: (f) => f.id },
  authScopes: { anyPermission: FIRMWARE_READERS },
  fields: (t) => ({
    name: t.exposeString('name'),
    version: t.exposeString('version', { description: 'The version devices report after upgrading.' }),
    signMethod: t.expose('signMethod', { type: SignMethod }),
    sign: t.exposeString('sign', { description: 'Hex digest of the file with signMethod.' }),
    size: t.exposeFloat('size', { description: 'Bytes.' }),
    fileName: t.exposeString('fileName'),
    description: t.exposeString('description'),
    requireVerification: t.exposeBoolean('requireVerification'),
    verified: t.exposeBoolean('verified'),
    verifiedAt: t.expose('verifiedAt', { type: 'DateTime', nullable: true }),
    minSuccessForVerified: t.exposeInt('minSuccessForVerified', {
      nullable: true,
      description: 'Devices of a verification job that must succeed to verify; null = all of them.',
    }),
    deleted: t.boolean({ select: { columns: { deletedAt: true } }, resolve: (f) => f.deletedAt !== null }),
    product: t.relation('product'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    usedByJobs: t.stringList({
      description: 'Names of jobs that still need this firmware (it cannot be deleted while there are any).',
      select: { columns: { id: true } },
      resolve: (f, _args, context) => jobsUsingFirmware(context.services.db, f.id),
    }),
  }),
});

builder.queryField('firmwares', (t) =>
  t.drizzleConnection(
    {
      type: 'firmwares',
      authScopes: { permission: 'FIRMWARE_READ' },
      args: { productKey: t.arg.string() },
      totalCount: async (_root, args, context) => {
        const caller = callerOf(context);
        const productId = await findProductId(context.services.db, caller, args.productKey);
        return countFirmwares(context.services.db, caller, { productId });
      },
      resolve: async (query, _root, args, context) => {
        assertPageSize(args);
        const caller = callerOf(context);
        const productId = await findProductId(context.services.db, caller, args.productKey);
        const condition = firmwareCondition(caller, { productId });
        return context.services.db.query.firmwares.findMany(query({ where: { RAW: (table) => condition(table) }, orderBy: { createdAt: 'desc' } }));
      },
    },
    { name: 'FirmwareConnection' },
    { name: 'FirmwareEdge' },
  ),
);

const UploadFirmwareInput = builder.inputType('UploadFirmwareInput', {
  fields: (t) => ({
    productKey: t.string({ required: true }),
    name: t.string({ required: true, description: 'Unique within the product.' }),
    version: t.string({ required: true, description: 'Unique within the product; what devices report after upgrading.' }),
    signMethod: t.field({ type: SignMethod, description: 'Default SHA256.' }),
    sign: t.string({ description: "The file's expected digest; the upload is refused if the file does not match it." }),
    description: t.string(),
    requireVerification: t.boolean({ description: 'Upgrade jobs may use it only after a verification job succeeded.' }),
    minSuccessForVerified: t.int(),
    file: t.field({ type: 'File', required: true }),
  }),
});

builder.mutationField('uploadFirmware', (t) =>
  t.field({
    type: Firmware,
    description: 'GraphQL multipart request; the file may be up to MAX_FIRMWARE_BYTES (100 MB by default).',
    authScopes: { permission: 'FIRMWARE_WRITE' },
    args: { input: t.arg({ type: UploadFirmwareInput, required: true }) },
    errors: { types: [InvalidInputError, NotFoundError, AlreadyExistsError, FileTooLargeError, SignMismatchError] },
    resolve: (_root, { input }, context) =>
      uploadFirmware(context.services, callerOf(context), { ...input, file: { name: input.file.name, stream: input.file.stream() } }),
  }),
);

builder.mutationField('deleteFirmware', (t) =>
  t.field({
    type: Firmware,
    description: 'Deletes firmware no job needs any more; returns it as deleted.',
    authScopes: { permission: 'FIRMWARE_DELETE' },
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError, FirmwareInUseError] },
    resolve: (_root, { id }, context) => deleteFirmware(context.services, callerOf(context), decodeId(String(id), 'Firmware')),
  }),
);
