/** The object types OtaJob's fields return: its counts, settings, progress points and edits. */
import { builder } from '../builder.js';
import type { FailureReason as FailureReasonValue, FieldChange } from '../db/schema.js';
import type { ProgressPoint } from '../domain/jobs/progress-history.js';
import type { scheduleView, settingsView } from '../domain/jobs/settings-view.js';
import type { StatusCounts } from '../domain/tasks/rules.js';
import { FailureReason } from './enums.js';

export const UpgradeStatusCounts = builder.objectRef<StatusCounts>('UpgradeStatusCounts').implement({
  description: 'Devices per tab of the job details page.',
  fields: (t) => ({
    toBePushed: t.exposeInt('toBePushed'),
    pushed: t.exposeInt('pushed'),
    inProgress: t.exposeInt('inProgress'),
    succeeded: t.exposeInt('succeeded'),
    failed: t.exposeInt('failed'),
  }),
});

export const FailureReasonCount = builder.objectRef<{ reason: FailureReasonValue; count: number }>('FailureReasonCount').implement({
  fields: (t) => ({ reason: t.expose('reason', { type: FailureReason }), count: t.exposeInt('count') }),
});

const TagRef = builder.objectRef<{ key: string; value: string }>('TagFilter').implement({
  fields: (t) => ({ key: t.exposeString('key'), value: t.exposeString('value') }),
});

export const JobScope = builder.objectRef<ReturnType<typeof settingsView>>('JobScope').implement({
  description: 'Which devices the job targets. The filters combine with AND.',
  fields: (t) => ({
    allDevices: t.exposeBoolean('allDevices', { description: 'Every device of the product (else deviceKeys).' }),
    deviceKeys: t.exposeStringList('deviceKeys'),
    srcVersions: t.exposeStringList('srcVersions', { description: 'Only devices on these versions; empty = any.' }),
    tags: t.field({
      type: [TagRef],
      description: 'Only devices with these tags (all keys; any of the values given for one key).',
      resolve: (s) => s.tags,
    }),
  }),
});

export const RetryPolicy = builder.objectRef<{ count: number; intervalMinutes: number }>('RetryPolicy').implement({
  fields: (t) => ({ count: t.exposeInt('count'), intervalMinutes: t.exposeInt('intervalMinutes') }),
});

export const Schedule = builder.objectRef<NonNullable<ReturnType<typeof scheduleView>>>('Schedule').implement({
  fields: (t) => ({
    startAt: t.expose('startAt', { type: 'DateTime', nullable: true }),
    endAt: t.expose('endAt', { type: 'DateTime', nullable: true }),
    dailyWindowStart: t.exposeString('dailyWindowStart', { nullable: true, description: '"HH:MM" in timezone.' }),
    dailyWindowEnd: t.exposeString('dailyWindowEnd', { nullable: true, description: '"HH:MM"; before the start = spans midnight.' }),
    timezone: t.exposeString('timezone'),
  }),
});

export const AbortThreshold = builder.objectRef<{ percent: number; minFinished: number }>('AbortThreshold').implement({
  description: 'The job stops when this percentage of its finished devices failed, once minFinished devices finished.',
  fields: (t) => ({ percent: t.exposeInt('percent'), minFinished: t.exposeInt('minFinished') }),
});

export const ProgressPointRef = builder.objectRef<ProgressPoint>('ProgressPoint').implement({
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime' }),
    succeeded: t.exposeInt('succeeded', { description: 'Devices succeeded by then.' }),
    failed: t.exposeInt('failed', { description: 'Devices failed by then.' }),
  }),
});

const FieldChangeRef = builder.objectRef<FieldChange>('FieldChange').implement({
  fields: (t) => ({
    field: t.exposeString('field'),
    from: t.string({ nullable: true, description: 'Previous value as JSON.', resolve: (c) => JSON.stringify(c.from ?? null) }),
    to: t.string({ nullable: true, description: 'New value as JSON.', resolve: (c) => JSON.stringify(c.to ?? null) }),
  }),
});

/** The type of OtaJob.edits (a relation of the job's drizzle node). */
builder.drizzleObject('jobEdits', {
  name: 'JobEdit',
  fields: (t) => ({
    editedAt: t.expose('editedAt', { type: 'DateTime' }),
    editedBy: t.exposeString('editedByName'),
    changes: t.field({ type: [FieldChangeRef], resolve: (e) => e.changes }),
  }),
});
