/** The input types of cancelUpgrade and retryUpgrade (schema/job-device-mutations.ts). */
import { builder } from '../builder.js';
import { FailureReason } from './enums.js';

export const CancelUpgradeInput = builder.inputType('CancelUpgradeInput', {
  fields: (t) => ({
    jobId: t.id({ required: true }),
    deviceKeys: t.stringList({ required: true, description: 'Up to 10,000 devices.' }),
  }),
});

export const RetryUpgradeInput = builder.inputType('RetryUpgradeInput', {
  fields: (t) => ({
    jobId: t.id({ required: true }),
    deviceKeys: t.stringList({ description: 'Omit to retry every failed device (of failureReason, if given).' }),
    failureReason: t.field({ type: FailureReason }),
  }),
});
