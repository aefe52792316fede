import { describe, expect, it } from 'vitest';
import { decodeOtaMessage, encodeRequest, otaTopic, requestOrder } from './protocol.js';
import { type DeviceRow, type ReportItem, replayReports, type TaskRow } from './report-replay.js';

const device = (seq: number | null, session = 'boot1'): DeviceRow => ({
  id: 'd1',
  ou_id: 'ou',
  product_id: 'p',
  product_key: 'pk',
  device_key: 'dk',
  firmware_version: '1.0.0',
  online: true,
  last_seen_at: null,
  report_session: seq === null ? null : session,
  report_seq: seq,
});

const task = (status: TaskRow['status'] = 'IN_PROGRESS', progress = 10): TaskRow => ({
  id: 7,
  job_id: 'job',
  device_id: 'd1',
  status,
  progress,
  attempt: 1,
  push_message_id: 'push-1',
  current_version: '1.0.0',
  waiting_reason: null,
  failure_reason: null,
  timeout_at: null,
  wave_index: null,
  active_wave: null,
  ou_id: 'ou',
  product_id: 'p',
  job_status: 'RUNNING',
  retry_count: 0,
  retry_interval_minutes: 0,
  firmware_id: 'fw',
  target_version: '2.0.0',
  sign: 'a'.repeat(64),
  sign_method: 'SHA256',
  size: 10,
});

function report(id: string, kind: 'progress' | 'inform' | 'getversion', params: object = {}, force = false): ReportItem {
  const decoded = decodeOtaMessage(otaTopic('pk', 'dk', kind), encodeRequest(kind, id, params as never));
  if (!decoded.ok) throw new Error(decoded.error.message);
  return { message: decoded.message, receivedAt: new Date(0), force };
}

const settings = { minuteMs: 1000, presenceGraceMs: 1000 };

describe('report order (replayReports)', () => {
  it('reads <session>-<counter> ids, and no order from other ids', () => {
    expect(requestOrder('a1b2-17')).toEqual({ session: 'a1b2', seq: 17 });
    expect(requestOrder('x-y-3')).toEqual({ session: 'x-y', seq: 3 });
    expect(requestOrder('17')).toBeNull();
    expect(requestOrder('abc')).toBeNull();
  });

  it('applies a batch in the order the device sent it, whatever order it arrived in', () => {
    // Arrived: getversion (13), failure (12), progress 50 (11).
    const plan = replayReports(
      { devices: [device(10)], tasks: [task()] },
      [report('boot1-13', 'getversion'), report('boot1-12', 'progress', { step: '-4', desc: 'flash error' }), report('boot1-11', 'progress', { step: '50' })],
      settings,
    );
    expect(plan.held).toEqual([]);
    expect(plan.taskChanges).toHaveLength(1);
    expect(plan.taskChanges[0].update).toMatchObject({ kind: 'failed', reason: 'WRITE_FAILED' });
    // The getversion came after the failure: no push of the task that just ended.
    const getversion = plan.replies.find((r) => r.kind === 'getversion');
    expect(getversion && 'pendingPush' in getversion ? getversion.pendingPush : 'missing').toBeNull();
    expect(plan.deviceWrites[0]).toMatchObject({ session: 'boot1', seq: 13 });
  });

  it('holds a request whose predecessors have not been applied, with what came after it', () => {
    const failure = report('boot1-12', 'progress', { step: '-4' });
    const getversion = report('boot1-13', 'getversion');
    const plan = replayReports({ devices: [device(10)], tasks: [task()] }, [failure, getversion], settings);
    expect(plan.held).toEqual([failure, getversion]);
    expect(plan.replies).toEqual([]);
    expect(plan.taskChanges).toEqual([]);
    expect(plan.deviceWrites).toEqual([]);
  });

  it('applies a held request once its hold ran out, skipping what never came', () => {
    const plan = replayReports({ devices: [device(10)], tasks: [task()] }, [report('boot1-12', 'progress', { step: '60' }, true)], settings);
    expect(plan.held).toEqual([]);
    expect(plan.taskChanges[0].update).toMatchObject({ kind: 'progress', progress: 60 });
    expect(plan.counts.get('updraft_device_report_gaps_skipped_total')).toBe(1);
  });

  it('lets a stale request change nothing, and answers it', () => {
    // 12 (a failure) was applied before 11 arrived, e.g. after 11's hold ran out elsewhere.
    const plan = replayReports(
      { devices: [device(12)], tasks: [task('PUSHED', 0)] },
      [report('boot1-11', 'progress', { step: '-2' }), report('boot1-12', 'inform', { version: '1.0.0' })],
      settings,
    );
    expect(plan.taskChanges).toEqual([]);
    expect(plan.replies.map((r) => ('code' in r ? r.code : null))).toEqual([200, 200]);
    expect(plan.counts.get('updraft_device_reports_stale_total')).toBe(2);
  });

  it('starts again with a new session, and applies ids without an order as they come', () => {
    const plan = replayReports(
      { devices: [device(900)], tasks: [task()] },
      [report('boot2-1', 'inform', { version: '1.0.0' }), report('boot2-2', 'progress', { step: '70' }), report('plain', 'progress', { step: '80' })],
      settings,
    );
    expect(plan.held).toEqual([]);
    expect(plan.taskChanges[0].update).toMatchObject({ kind: 'progress', progress: 80 });
    expect(plan.deviceWrites[0]).toMatchObject({ session: 'boot2', seq: 2 });
  });
});
