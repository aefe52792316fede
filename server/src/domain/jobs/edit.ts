/**
 * editJob: applies the changes the edit rules accept, all or nothing, and records who changed what.
 * Upgrade jobs: new settings apply to tasks not yet pushed; a new timeout also to tasks in flight;
 * a widened scope adds tasks and a narrowed one removes tasks still To be Pushed.
 */
import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { JOB_TYPES, jobEdits, otaJobs, products } from '../../db/schema.js';
import { queryRows } from '../../db/sql.js';
import { JOB_FIELD_LABELS } from '@updraft/labels';
import { countOf, recordAudit } from '../audit.js';
import { type Caller, requirePermission } from '../caller.js';
import { JobNotEditableError } from '../errors.js';
import { decide, jobContextOfJob, TASK_STATE_COLUMNS, type TaskStateRow } from '../tasks/decide.js';
import { type WrittenChange, writeTaskChanges } from '../tasks/write.js';
import type { TransactionScope } from '../transaction.js';
import { optionalInput, parseInput } from '../validation.js';
import { hasUnfinishedTasks, lockJob } from './access.js';
import { type EditRequest, planJobEdit } from './edit-rules.js';
import { queueJobStatusChanged } from '../webhooks/outbox.js';
import { jobEvents, lastChangeSeq } from './events.js';
import { materialiseTargets, removeUntargetedTasks } from './scope.js';
import {
  abortThreshold,
  maxConcurrency,
  policy,
  pushRatePerMinute,
  retryPolicy,
  schedule,
  srcVersions,
  tagFilters,
  timeoutMinutes,
  upgradeDeviceKeys,
  upgradeScope,
  verificationDeviceKeys,
} from './settings.js';
import { type JobRow, type JobSettingsView, scheduleFromInput, settingsColumns, settingsView } from './settings-view.js';

/** Shape checks only; whether a field may change is the edit rules' business. */
const editJobInput = z.object({
  jobId: z.string(),
  name: optionalInput(z.string()),
  firmwareId: optionalInput(z.string()),
  type: optionalInput(z.enum(JOB_TYPES)),
  productKey: optionalInput(z.string()),
  allDevices: optionalInput(z.boolean()),
  deviceKeys: optionalInput(upgradeDeviceKeys),
  srcVersions: optionalInput(srcVersions),
  tags: optionalInput(tagFilters),
  timeoutMinutes: optionalInput(timeoutMinutes),
  policy: optionalInput(policy),
  maxConcurrency: optionalInput(maxConcurrency),
  retry: optionalInput(retryPolicy),
  // null clears these three: not optionalInput.
  schedule: schedule.nullable().optional(),
  pushRatePerMinute: pushRatePerMinute.nullable().optional(),
  abortThreshold: abortThreshold.nullable().optional(),
});
export type EditJobInput = z.input<typeof editJobInput>;

export interface EditJobResult {
  job: JobRow;
  /** The fields that changed (empty when the edit asked for the values the job already had). */
  changedFields: string[];
  tasksAdded: number;
  tasksRemoved: number;
}

const SCOPE_FIELDS = ['allDevices', 'deviceKeys', 'srcVersions', 'tags'];

export interface EditSettings {
  /** How long a job minute lasts (ENGINE_MINUTE_MS): a new timeout moves tasks in flight by job minutes. */
  minuteMs: number;
}

export async function editJob({ tx, emit }: TransactionScope, caller: Caller, input: EditJobInput, settings: EditSettings): Promise<EditJobResult> {
  requirePermission(caller, 'OTA_CONTROL');
  const { jobId, ...requested } = parseInput(editJobInput, input);
  const job = await lockJob(tx, caller, jobId);
  const executing = await hasUnfinishedTasks(tx, job.id);
  const request: EditRequest = {
    ...requested,
    schedule: requested.schedule === undefined ? undefined : requested.schedule && scheduleFromInput(requested.schedule),
  };
  const plan = planJobEdit(job, executing, request, requested.productKey === undefined ? undefined : await productKeyOf(tx, job.productId));
  if (plan.refused.length > 0) throw new JobNotEditableError(plan.refused);
  if (plan.changes.length === 0) return { job, changedFields: [], tasksAdded: 0, tasksRemoved: 0 };

  const next: JobSettingsView = { ...settingsView(job) };
  for (const change of plan.changes) (next as unknown as Record<string, unknown>)[change.field] = change.to;
  if (job.type === 'VERIFICATION') {
    parseInput(z.object({ deviceKeys: verificationDeviceKeys }), { deviceKeys: next.deviceKeys });
  } else {
    // Switching to all devices drops the key list it replaces.
    if (plan.changes.some((c) => c.field === 'allDevices') && next.allDevices) next.deviceKeys = [];
    parseInput(upgradeScope, {
      allDevices: next.allDevices,
      deviceKeys: next.deviceKeys,
      srcVersions: next.srcVersions,
      tags: next.tags,
    });
  }

  const [updated] = await tx
    .update(otaJobs)
    .set({ ...settingsColumns(next), updatedAt: new Date() })
    .where(eq(otaJobs.id, job.id))
    .returning();

  const written: WrittenChange[] = [];
  if (plan.changes.some((c) => c.field === 'timeoutMinutes')) {
    // A new timeout applies to tasks in flight too, still counted from their push, in job minutes.
    const rows = await queryRows<TaskStateRow>(
      tx,
      sql`select ${TASK_STATE_COLUMNS} from job_tasks t
          where t.job_id = ${job.id} and t.status in ('PUSHED', 'IN_PROGRESS') order by t.id for update`,
    );
    const { changes } = decide(
      rows,
      () => ({ type: 'timeoutChanged', timeoutMinutes: next.timeoutMinutes }),
      () => jobContextOfJob(updated, settings.minuteMs),
    );
    written.push(...(await writeTaskChanges(tx, changes)));
  }

  let tasksAdded = 0;
  let tasksRemoved = 0;
  if (plan.changes.some((c) => SCOPE_FIELDS.includes(c.field))) {
    const removed = await removeUntargetedTasks(tx, job.id);
    tasksRemoved = removed.length;
    written.push(...removed);
    const added = await materialiseTargets(tx, job.id);
    tasksAdded = added.added + added.notFound;
  }

  let current = updated;
  if (updated.status === 'FINISHED' && tasksAdded > 0) {
    // New targets reopen a finished job.
    [current] = await tx.update(otaJobs).set({ status: 'RUNNING', finishedAt: null }).where(eq(otaJobs.id, job.id)).returning();
    await queueJobStatusChanged(tx, job.id, { previousStatus: 'FINISHED', change: 'REOPENED', reason: 'its scope was widened' });
  }

  await tx.insert(jobEdits).values({
    ouId: job.ouId,
    jobId: job.id,
    editedBy: caller.userId,
    editedByName: caller.displayName,
    changes: plan.changes,
  });
  const scopeNote = [tasksAdded ? `${countOf(tasksAdded, 'device')} added` : '', tasksRemoved ? `${countOf(tasksRemoved, 'device')} removed` : '']
    .filter(Boolean)
    .join(', ');
  await recordAudit(tx, caller, {
    action: 'JOB_EDITED',
    target: { type: 'JOB', id: job.id, name: job.name },
    summary: `${plan.changes.map((c) => JOB_FIELD_LABELS[c.field] ?? c.field).join(', ')} changed${scopeNote ? `; ${scopeNote}` : ''}`,
    details: { changes: plan.changes, tasksAdded, tasksRemoved },
  });
  const tasksChanged = written.length + tasksAdded;
  const seq = tasksChanged > 0 ? await lastChangeSeq(tx) : 0;
  jobEvents(current, 'edited', { maxChangeSeq: seq, count: tasksChanged }).forEach(emit);
  return { job: current, changedFields: plan.changes.map((c) => c.field), tasksAdded, tasksRemoved };
}

async function productKeyOf(tx: TransactionScope['tx'], productId: string): Promise<string> {
  const [product] = await tx.select({ productKey: products.productKey }).from(products).where(eq(products.id, productId));
  return product.productKey;
}
