/** previewUpgradeJob: whom a createUpgradeJob input targets, and how its waves fall, before creating it. */
import { builder } from '../builder.js';
import { FirmwareNotVerifiedError, InvalidInputError, NotFoundError } from '../domain/errors.js';
import { PREVIEW_SAMPLE_MAX, previewUpgradeJob, type UpgradeJobPreview } from '../domain/jobs/preview.js';
import { CreateUpgradeJobInput } from './job-inputs.js';
import { callerOf, decodeId } from './support.js';

const WavePreview = builder.objectRef<UpgradeJobPreview['waves'][number]>('WavePreview').implement({
  fields: (t) => ({
    index: t.exposeInt('index'),
    name: t.exposeString('name'),
    deviceCount: t.exposeInt('deviceCount'),
    sampleDeviceKeys: t.exposeStringList('sampleDeviceKeys', { description: 'The first devices of the wave in rollout order.' }),
  }),
});

const UpgradeJobPreviewRef = builder.objectRef<UpgradeJobPreview>('UpgradeJobPreview').implement({
  description: 'What createUpgradeJob would create from the same input (nothing is created).',
  fields: (t) => ({
    deviceCount: t.exposeInt('deviceCount', { description: 'Devices the job would target (tabs total).' }),
    notFoundCount: t.exposeInt('notFoundCount', { description: 'Listed keys with no device: they would fail DEVICE_NOT_FOUND at once.' }),
    seed: t.exposeInt('seed', { nullable: true, description: 'The seed the job would record; give it as rollout.seed to create exactly these waves.' }),
    sampleDeviceKeys: t.exposeStringList('sampleDeviceKeys', { description: 'The first devices in rollout order.' }),
    waves: t.field({ type: [WavePreview], resolve: (p) => p.waves }),
  }),
});

builder.queryField('previewUpgradeJob', (t) =>
  t.field({
    type: UpgradeJobPreviewRef,
    description:
      'How many and which devices a createUpgradeJob input targets, and how many land in each wave, without creating the job. Runs the creation and rolls it back: as costly as creating the job.',
    authScopes: { permission: 'OTA_CREATE' },
    args: {
      input: t.arg({ type: CreateUpgradeJobInput, required: true }),
      sampleSize: t.arg.int({ defaultValue: 20, required: true, description: `Device keys listed per wave (at most ${PREVIEW_SAMPLE_MAX}).` }),
    },
    errors: { types: [InvalidInputError, NotFoundError, FirmwareNotVerifiedError] },
    resolve: (_root, { input, sampleSize }, context) =>
      previewUpgradeJob(context.services.db, callerOf(context), { ...input, firmwareId: decodeId(input.firmwareId, 'Firmware') }, sampleSize),
  }),
);
