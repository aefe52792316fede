/** cancelUpgrade and retryUpgrade: an operator acting on some devices of a job. */
import { builder } from '../builder.js';
import { InvalidInputError, InvalidJobStateError, NotFoundError } from '../domain/errors.js';
import { cancelUpgrade } from '../domain/jobs/cancel-upgrade.js';
import { retryUpgrade } from '../domain/jobs/retry.js';
import { CancelUpgradeInput, RetryUpgradeInput } from './job-device-inputs.js';
import { CancelUpgradeResult, RetryUpgradeResult } from './job-device-payloads.js';
import { callerOf, decodeId, transact } from './support.js';

builder.mutationField('cancelUpgrade', (t) =>
  t.field({
    type: CancelUpgradeResult,
    description: 'Cancels the upgrade of To be Pushed and Pushed devices (Pushed devices are sent a cancel command).',
    authScopes: { permission: 'OTA_CONTROL' },
    args: { input: t.arg({ type: CancelUpgradeInput, required: true }) },
    errors: { types: [InvalidInputError, NotFoundError, InvalidJobStateError] },
    resolve: (_root, { input }, context) =>
      transact(context, (scope) => cancelUpgrade(scope, callerOf(context), { ...input, jobId: decodeId(input.jobId, 'OtaJob') })),
  }),
);

builder.mutationField('retryUpgrade', (t) =>
  t.field({
    type: RetryUpgradeResult,
    description: 'Starts a new attempt for failed devices: they go back to To be Pushed.',
    authScopes: { permission: 'OTA_CONTROL' },
    args: { input: t.arg({ type: RetryUpgradeInput, required: true }) },
    errors: { types: [InvalidInputError, NotFoundError, InvalidJobStateError] },
    resolve: (_root, { input }, context) =>
      transact(context, (scope) => retryUpgrade(scope, callerOf(context), { ...input, jobId: decodeId(input.jobId, 'OtaJob') })),
  }),
);
