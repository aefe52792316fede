import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runWithLogContext } from './context.js';
import { createLogger, redactUrl, scrub } from './logger.js';

function captured() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, log: createLogger({ level: 'debug', destination }) };
}

describe('the log', () => {
  it('redacts credential fields and scrubs secrets out of messages and strings', () => {
    const { lines, log } = captured();
    const token = 'updraft_abcdefghijklmnopqrstuvwxyz012345';
    log.info({ password: 'hunter2', input: { token, secret: 's3cr3t' }, headers: { authorization: `Bearer ${token}` } }, 'sign-in');
    log.warn(`push to http://10.0.0.5:4000/firmware/1/download?token=dltok.ABC-123&x=1 failed with ${token}`);
    log.error(new Error(`connect mqtt://gw:hunter3@broker:1883 failed; body {"deviceSecret":"devsec"}`), 'broker');
    const text = JSON.stringify(lines);
    for (const secret of ['hunter2', 'hunter3', token, 's3cr3t', 'dltok.ABC-123', 'devsec']) expect(text).not.toContain(secret);
    expect(lines[1].msg).toContain('token=[REDACTED]&x=1');
    expect(lines[2]).toMatchObject({ err: { message: expect.stringContaining('mqtt://gw:[REDACTED]@broker') } });
  });

  it('names the request of the work it logs', () => {
    const { lines, log } = captured();
    runWithLogContext({ reqId: 'r-1' }, () => log.info('inside'));
    log.info('outside');
    expect(lines.map((l) => l.reqId)).toEqual(['r-1', undefined]);
  });

  it('keeps what is not a secret', () => {
    expect(scrub('job 4f2 finished: 12 devices, updraft_session cookie')).toBe('job 4f2 finished: 12 devices, updraft_session cookie');
    expect(scrub('unknown counter updraft_device_reports_held_total')).toBe('unknown counter updraft_device_reports_held_total');
    expect(scrub(`token updraft_${'a'.repeat(20)}Q${'b'.repeat(22)}`)).toBe('token updraft_[REDACTED]');
    expect(redactUrl('redis://:pw@cache:6379/0')).toBe('redis://:REDACTED@cache:6379/0');
  });
});
