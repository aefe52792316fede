import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type GraphQLField, isEnumType, isObjectType, printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { sortedSchema } from '@updraft/server/schema/index.js';

/** DESIGN §5: the public names third-party integrations rely on. Field → [type, {arg: type}]. */
const CONTRACT: Record<string, Record<string, string | [string, Record<string, string>]>> = {
  Query: {
    jobs: ['OtaJobConnection!', { productKey: 'String', type: 'OtaJobType', status: 'OtaJobStatus', search: 'String', first: 'Int', after: 'String' }],
    job: ['OtaJob', { id: 'ID!' }],
    firmwares: ['FirmwareConnection!', { productKey: 'String', first: 'Int', after: 'String' }],
    devices: ['DeviceConnection!', { productKey: 'String', search: 'String', first: 'Int', after: 'String' }],
    products: '[Product!]!',
    node: ['Node', { id: 'ID!' }],
    nodes: ['[Node]!', { ids: '[ID!]!' }],
  },
  OtaJob: {
    id: 'ID!',
    name: 'String!',
    type: 'OtaJobType!',
    status: 'OtaJobStatus!',
    product: 'Product!',
    firmware: 'Firmware!',
    createdAt: 'DateTime!',
    deviceCount: 'Int!',
    progress: 'Float!',
    statusCounts: 'UpgradeStatusCounts!',
    timeoutMinutes: 'Int!',
    maxConcurrency: 'Int!',
    srcVersions: '[String!]!',
    editable: 'Boolean!',
    devices: [
      'JobDeviceConnection!',
      {
        status: 'UpgradeStatus',
        deviceKey: 'String',
        currentVersion: 'String',
        failureReason: 'FailureReason',
        failedAfter: 'DateTime',
        failedBefore: 'DateTime',
        first: 'Int',
        after: 'String',
      },
    ],
  },
  UpgradeStatusCounts: { toBePushed: 'Int!', pushed: 'Int!', inProgress: 'Int!', succeeded: 'Int!', failed: 'Int!' },
  JobDevice: {
    id: 'ID!',
    deviceKey: 'String!',
    device: 'Device',
    status: 'UpgradeStatus!',
    progress: 'Int!',
    failureReason: 'FailureReason',
    failureDetail: 'String',
    currentVersion: 'String',
    pushedAt: 'DateTime',
    failedAt: 'DateTime',
    updatedAt: 'DateTime!',
  },
  JobDeviceConnection: { totalCount: 'Int!' },
  OtaJobConnection: { totalCount: 'Int!' },
  FirmwareConnection: { totalCount: 'Int!' },
  DeviceConnection: { totalCount: 'Int!' },
  Mutation: {
    createVerificationJob: ['MutationCreateVerificationJobResult!', { input: 'CreateVerificationJobInput!' }],
    createUpgradeJob: ['MutationCreateUpgradeJobResult!', { input: 'CreateUpgradeJobInput!' }],
    editJob: ['MutationEditJobResult!', { input: 'EditJobInput!' }],
    cancelUpgrade: ['MutationCancelUpgradeResult!', { input: 'CancelUpgradeInput!' }],
    uploadFirmware: ['MutationUploadFirmwareResult!', { input: 'UploadFirmwareInput!' }],
    deleteFirmware: ['MutationDeleteFirmwareResult!', { id: 'ID!' }],
  },
  Subscription: {
    jobProgress: ['OtaJob!', { jobId: 'ID!' }],
    jobDeviceUpdates: ['JobDeviceUpdate!', { jobId: 'ID!', status: 'UpgradeStatus' }],
  },
};

const ENUMS: Record<string, string[]> = {
  OtaJobType: ['VERIFICATION', 'UPGRADE'],
  // WAITING_FOR_APPROVAL: added by phased rollouts (issue 16); the contract's values stay.
  OtaJobStatus: ['SCHEDULED', 'RUNNING', 'STOPPED', 'FINISHED', 'CANCELLED', 'WAITING_FOR_APPROVAL'],
  UpgradeStatus: ['TO_BE_PUSHED', 'PUSHED', 'IN_PROGRESS', 'SUCCEEDED', 'FAILED'],
  FailureReason: [
    'CANCELLED_BY_USER',
    'DEVICE_IGNORED',
    'VERSION_NOT_IN_SCOPE',
    'WRITE_FAILED',
    'DOWNLOAD_FAILED',
    'VERIFICATION_FAILED',
    'LAST_UPGRADE_IN_PROGRESS',
    'DEVICE_NOT_FOUND',
    'UNDEFINED',
    'TIMEOUT',
  ],
};

describe('schema.graphql', () => {
  it('is the schema the code builds (run `pnpm schema:print` after changing the schema)', () => {
    const committed = readFileSync(fileURLToPath(new URL('../schema.graphql', import.meta.url)), 'utf8');
    expect(committed).toBe(`${printSchema(sortedSchema)}\n`);
  });

  for (const [typeName, fields] of Object.entries(CONTRACT)) {
    it(`keeps the contract of ${typeName}`, () => {
      const type = sortedSchema.getType(typeName);
      expect(type && isObjectType(type), `${typeName} is an object type`).toBe(true);
      const actual = (type as { getFields(): Record<string, GraphQLField<unknown, unknown>> }).getFields();
      for (const [fieldName, spec] of Object.entries(fields)) {
        const [returnType, args] = typeof spec === 'string' ? [spec, {}] : spec;
        const field = actual[fieldName];
        expect(field, `${typeName}.${fieldName} exists`).toBeDefined();
        expect(String(field.type), `${typeName}.${fieldName} type`).toBe(returnType);
        for (const [argName, argType] of Object.entries(args)) {
          const arg = field.args.find((a) => a.name === argName);
          expect(arg && String(arg.type), `${typeName}.${fieldName}(${argName})`).toBe(argType);
        }
      }
    });
  }

  it('keeps the contract enums and their values', () => {
    for (const [name, values] of Object.entries(ENUMS)) {
      const type = sortedSchema.getType(name);
      expect(type && isEnumType(type)).toBe(true);
      if (type && isEnumType(type))
        expect(
          type
            .getValues()
            .map((v) => v.name)
            .sort(),
        ).toEqual([...values].sort());
    }
  });
});
