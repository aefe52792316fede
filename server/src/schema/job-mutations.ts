/**
 * Creating, editing and controlling jobs. The inputs go to the domain as they come (its zod schemas
 * read an optional field left out or null alike); only global IDs are decoded here.
 */
import { builder } from '../builder.js';
import { FirmwareNotVerifiedError, InvalidInputError, InvalidJobStateError, JobNotEditableError, NotFoundError } from '../domain/errors.js';
import { cancelJob, startJob, stopJob } from '../domain/jobs/control.js';
import { createUpgradeJob, createVerificationJob } from '../domain/jobs/create.js';
import { editJob } from '../domain/jobs/edit.js';
import { approveNextWave } from '../domain/jobs/waves.js';
import { CreateUpgradeJobInput, CreateVerificationJobInput, EditJobInput } from './job-inputs.js';
import { EditJobResult } from './job-payloads.js';
import { callerOf, decodeId, transact } from './support.js';

/** A firmware global ID that does not decode is reported as the domain reports a bad id. */
function firmwareIdArg(id: string): string {
  return decodeId(id, 'Firmware');
}

/** An edit naming any firmware is refused by the edit rules; a garbled id must not hide that. */
function firmwareIdOrRaw(id: string): string {
  try {
    return decodeId(id, 'Firmware');
  } catch {
    return id;
  }
}

const JOB_CREATE_ERRORS = [InvalidInputError, NotFoundError, FirmwareNotVerifiedError];

builder.mutationField('createVerificationJob', (t) =>
  t.drizzleField({
    type: 'otaJobs',
    authScopes: { permission: 'OTA_CREATE' },
    args: { input: t.arg({ type: CreateVerificationJobInput, required: true }) },
    errors: { types: JOB_CREATE_ERRORS },
    resolve: (_query, _root, { input }, context) =>
      transact(context, (scope) => createVerificationJob(scope, callerOf(context), { ...input, firmwareId: firmwareIdArg(input.firmwareId) })),
  }),
);

builder.mutationField('createUpgradeJob', (t) =>
  t.drizzleField({
    type: 'otaJobs',
    authScopes: { permission: 'OTA_CREATE' },
    args: { input: t.arg({ type: CreateUpgradeJobInput, required: true }) },
    errors: { types: JOB_CREATE_ERRORS },
    resolve: (_query, _root, { input }, context) =>
      transact(context, (scope) => createUpgradeJob(scope, callerOf(context), { ...input, firmwareId: firmwareIdArg(input.firmwareId) })),
  }),
);

builder.mutationField('editJob', (t) =>
  t.field({
    type: EditJobResult,
    authScopes: { permission: 'OTA_CONTROL' },
    args: { input: t.arg({ type: EditJobInput, required: true }) },
    errors: { types: [InvalidInputError, NotFoundError, JobNotEditableError] },
    resolve: (_root, { input }, context) =>
      transact(context, (scope) =>
        editJob(
          scope,
          callerOf(context),
          { ...input, jobId: decodeId(input.jobId, 'OtaJob'), firmwareId: input.firmwareId && firmwareIdOrRaw(input.firmwareId) },
          { minuteMs: context.services.config.engineMinuteMs },
        ),
      ),
  }),
);

builder.mutationField('approveNextWave', (t) =>
  t.drizzleField({
    type: 'otaJobs',
    description:
      'Starts the next wave of a job waiting for approval (WAITING_FOR_APPROVAL), or of a job its active wave stopped, if you decide to go on anyway. Recorded with your name in OtaJob.rollout.decisions.',
    authScopes: { permission: 'OTA_CONTROL' },
    args: {
      jobId: t.arg.id({ required: true }),
      wave: t.arg.int({ description: 'The index of the wave to start: refused unless it is the next one (two approvals at once start it once).' }),
    },
    errors: { types: [NotFoundError, InvalidJobStateError, InvalidInputError] },
    resolve: (_query, _root, { jobId, wave }, context) =>
      transact(context, (scope) => approveNextWave(scope, callerOf(context), decodeId(jobId, 'OtaJob'), wave)),
  }),
);

for (const [name, action, description] of [
  ['stopJob', stopJob, 'Pauses a running, scheduled or waiting job: nothing new is pushed; pushed devices carry on.'],
  ['startJob', startJob, 'Resumes a stopped job, or starts a scheduled one now.'],
  ['cancelJob', cancelJob, 'Ends the job: To be Pushed and Pushed devices fail as Cancelled by user.'],
] as const) {
  builder.mutationField(name, (t) =>
    t.drizzleField({
      type: 'otaJobs',
      description,
      authScopes: { permission: 'OTA_CONTROL' },
      args: { id: t.arg.id({ required: true }) },
      errors: { types: [NotFoundError, InvalidJobStateError] },
      resolve: (_query, _root, { id }, context) => transact(context, (scope) => action(scope, callerOf(context), decodeId(id, 'OtaJob'))),
    }),
  );
}
