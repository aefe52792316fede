/** The success types of the job mutations that return more than the job. */
import { builder } from '../builder.js';
import type { EditJobResult as EditJobOutcome } from '../domain/jobs/edit.js';
import { JobField } from './enums.js';
import { OtaJob } from './job.js';

export const EditJobResult = builder.objectRef<EditJobOutcome>('EditJobResult').implement({
  fields: (t) => ({
    job: t.field({ type: OtaJob, resolve: (r) => r.job }),
    changedFields: t.field({ type: [JobField], resolve: (r) => r.changedFields as never }),
    devicesAdded: t.exposeInt('tasksAdded', { description: 'Devices a widened scope added.' }),
    devicesRemoved: t.exposeInt('tasksRemoved', { description: 'To be Pushed devices a narrowed scope removed.' }),
  }),
});
