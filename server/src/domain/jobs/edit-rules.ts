/**
 * Which fields of a job may change, and when (DESIGN §3 "Editing a job"). Pure: it compares the
 * job as stored with the requested values and says what changes and what is refused.
 *
 * - Verification job: only deviceKeys, srcVersions and timeoutMinutes, and nothing at all while the
 *   job executes (any task not final).
 * - Upgrade job: everything except name, type, product and firmware, unless the job was cancelled.
 *   Those four may be named (an edit naming them is refused by name), never changed.
 * - A requested value equal to the stored one is no change, so it is never refused.
 */
import type { JobStatus, JobType } from '../../db/schema.js';
import type { FieldChange } from '../../db/schema.js';
import type { RefusedField } from '../errors.js';
import { type EditableJob, type JobSettingsView, settingsView } from './settings-view.js';

export const EDITABLE_FIELDS = {
  VERIFICATION: ['deviceKeys', 'srcVersions', 'timeoutMinutes'],
  UPGRADE: [
    'allDevices',
    'deviceKeys',
    'srcVersions',
    'tags',
    'timeoutMinutes',
    'policy',
    'maxConcurrency',
    'retry',
    'schedule',
    'pushRatePerMinute',
    'abortThreshold',
  ],
} as const satisfies Record<JobType, readonly (keyof JobSettingsView)[]>;

/** Fields fixed at creation: an edit may name them (to be refused by name), never change them. */
const FIXED_FIELDS = ['name', 'firmwareId', 'type', 'productKey'] as const;

/** Every field an edit may name, editable or not. */
export const EDIT_FIELDS = [...FIXED_FIELDS, ...EDITABLE_FIELDS.UPGRADE] as const;
export type EditField = (typeof EDIT_FIELDS)[number];
export type EditRequest = Partial<JobSettingsView & { name: string; firmwareId: string; type: JobType; productKey: string }>;

export interface Editability {
  fields: readonly EditField[];
  /** Why nothing (or only part) can be edited now; null when every field of the type can. */
  reason: string | null;
}

export function jobEditability(job: { type: JobType; status: JobStatus }, executing: boolean): Editability {
  if (job.status === 'CANCELLED') return { fields: [], reason: 'A cancelled job cannot be edited.' };
  if (job.type === 'VERIFICATION' && executing) {
    return {
      fields: [],
      reason: 'The verification job is executing: nothing can be edited until it finishes.',
    };
  }
  return { fields: EDITABLE_FIELDS[job.type], reason: null };
}

function refusalReason(field: EditField, job: { type: JobType }, editability: Editability): string {
  if (field === 'name') return 'the job name cannot be changed after creation';
  if (field === 'firmwareId') return 'the firmware cannot be changed after creation';
  if (field === 'type') return 'the job type cannot be changed after creation';
  if (field === 'productKey') return 'the product cannot be changed after creation';
  if (editability.reason) return editability.reason;
  return job.type === 'VERIFICATION' ? 'a verification job only allows deviceKeys, srcVersions and timeoutMinutes to change' : 'this field cannot be changed';
}

/** Canonical JSON, so that equal settings compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

export interface EditPlan {
  changes: FieldChange[];
  refused: RefusedField[];
}

/** `productKey`: the key of the job's product, needed only when the request names one. */
export function planJobEdit(job: EditableJob, executing: boolean, request: EditRequest, productKey?: string): EditPlan {
  const current: Record<EditField, unknown> = { ...settingsView(job), name: job.name, firmwareId: job.firmwareId, type: job.type, productKey };
  const editability = jobEditability(job, executing);
  const changes: FieldChange[] = [];
  const refused: RefusedField[] = [];
  for (const field of EDIT_FIELDS) {
    if (!(field in request) || request[field] === undefined) continue;
    const to = request[field];
    const from = current[field];
    if (canonical(from) === canonical(to)) continue;
    if ((editability.fields as readonly string[]).includes(field)) changes.push({ field, from, to });
    else refused.push({ field, reason: refusalReason(field, job, editability) });
  }
  return { changes, refused };
}
