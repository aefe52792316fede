import { describe, expect, it } from 'vitest';
import type { JobStatus, JobType } from '../../db/schema.js';
import { EDIT_FIELDS, type EditField, type EditRequest, jobEditability, planJobEdit } from './edit-rules.js';
import type { EditableJob } from './settings-view.js';

function job(type: JobType, status: JobStatus = 'RUNNING'): EditableJob {
  return {
    type,
    status,
    name: 'Job',
    firmwareId: '11111111-1111-1111-1111-111111111111',
    targetMode: 'DEVICE_KEYS',
    targetDeviceKeys: ['a', 'b'],
    srcVersions: ['1.0'],
    targetTags: [],
    policy: 'SNAPSHOT',
    maxConcurrency: 300,
    timeoutMinutes: 120,
    retryCount: 0,
    retryIntervalMinutes: 0,
    scheduleStartAt: null,
    scheduleEndAt: null,
    dailyWindowStartMinute: null,
    dailyWindowEndMinute: null,
    scheduleTimezone: 'UTC',
    pushRatePerMinute: null,
    abortThresholdPercent: null,
    abortMinFinished: null,
  };
}

/** A value different from what job() holds, for every field an edit can name. */
const CHANGED: Required<EditRequest> = {
  name: 'Renamed',
  firmwareId: '22222222-2222-2222-2222-222222222222',
  type: 'VERIFICATION', // changedFor() gives the other type
  productKey: 'other',
  allDevices: true,
  deviceKeys: ['a', 'c'],
  srcVersions: ['1.1'],
  tags: [{ key: 'region', value: 'eu' }],
  timeoutMinutes: 30,
  policy: 'INCREMENTAL',
  maxConcurrency: 10,
  retry: { count: 2, intervalMinutes: 5 },
  schedule: { startAt: null, endAt: null, dailyWindowStart: '01:00', dailyWindowEnd: '05:00', timezone: 'UTC' },
  pushRatePerMinute: 100,
  abortThreshold: { percent: 20, minFinished: 10 },
};

/** CHANGED's value of the field, but for `type` the other type than the job's. */
function changedFor(type: JobType, field: EditField): unknown {
  if (field === 'type') return type === 'UPGRADE' ? 'VERIFICATION' : 'UPGRADE';
  return CHANGED[field];
}

const VERIFICATION_EDITABLE = new Set<EditField>(['deviceKeys', 'srcVersions', 'timeoutMinutes']);

function expectedAccepted(type: JobType, status: JobStatus, executing: boolean, field: EditField): boolean {
  if (field === 'name' || field === 'firmwareId' || field === 'type' || field === 'productKey') return false;
  if (status === 'CANCELLED') return false;
  if (type === 'VERIFICATION') return !executing && VERIFICATION_EDITABLE.has(field);
  return true;
}

describe('planJobEdit: every field × both job types × executing or not', () => {
  for (const type of ['VERIFICATION', 'UPGRADE'] as const) {
    for (const status of ['RUNNING', 'STOPPED', 'FINISHED', 'SCHEDULED', 'CANCELLED'] as const) {
      for (const executing of [false, true]) {
        for (const field of EDIT_FIELDS) {
          const accepted = expectedAccepted(type, status, executing, field);
          it(`${type} ${status} ${executing ? 'executing' : 'idle'}: ${field} is ${accepted ? 'accepted' : 'refused'}`, () => {
            const to = changedFor(type, field);
            const plan = planJobEdit(job(type, status), executing, { [field]: to }, 'meter');
            if (accepted) {
              expect(plan.refused).toEqual([]);
              expect(plan.changes).toHaveLength(1);
              expect(plan.changes[0].field).toBe(field);
              expect(plan.changes[0].to).toEqual(to);
            } else {
              expect(plan.changes).toEqual([]);
              expect(plan.refused).toHaveLength(1);
              expect(plan.refused[0].field).toBe(field);
              expect(plan.refused[0].reason.length).toBeGreaterThan(10);
            }
          });
        }
      }
    }
  }
});

describe('planJobEdit', () => {
  it('treats a value equal to the stored one as no change, never as a refusal', () => {
    const plan = planJobEdit(
      job('VERIFICATION'),
      true,
      { name: 'Job', type: 'VERIFICATION', productKey: 'meter', deviceKeys: ['a', 'b'], timeoutMinutes: 120, retry: { intervalMinutes: 0, count: 0 } },
      'meter',
    );
    expect(plan).toEqual({ changes: [], refused: [] });
  });

  it('names every refused field of a mixed request, and accepts none of it', () => {
    const plan = planJobEdit(job('VERIFICATION'), false, { timeoutMinutes: 30, maxConcurrency: 5, name: 'X' });
    expect(plan.refused.map((r) => r.field).sort()).toEqual(['maxConcurrency', 'name']);
    expect(plan.changes.map((c) => c.field)).toEqual(['timeoutMinutes']);
  });

  it('says why a verification job cannot be edited while it executes', () => {
    const editability = jobEditability(job('VERIFICATION'), true);
    expect(editability.fields).toEqual([]);
    expect(editability.reason).toMatch(/executing/);
    expect(planJobEdit(job('VERIFICATION'), true, { timeoutMinutes: 30 }).refused[0].reason).toMatch(/executing/);
  });

  it('records from and to of each change', () => {
    const plan = planJobEdit(job('UPGRADE'), true, { maxConcurrency: 10, retry: { count: 1, intervalMinutes: 3 } });
    expect(plan.changes).toEqual([
      { field: 'maxConcurrency', from: 300, to: 10 },
      { field: 'retry', from: { count: 0, intervalMinutes: 0 }, to: { count: 1, intervalMinutes: 3 } },
    ]);
  });
});
