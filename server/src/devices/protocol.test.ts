import { describe, expect, it } from 'vitest';
import {
  MAX_PAYLOAD_BYTES,
  OTA_KINDS,
  OTA_METHODS,
  PROGRESS_STEP,
  REPLY_CODE,
  REQUEST_KINDS,
  decodeOtaMessage,
  deviceClientId,
  deviceMqttCredentials,
  deviceNamespace,
  deviceUsername,
  encodePresence,
  encodeReply,
  encodeRequest,
  interpretProgressStep,
  isInDeviceNamespace,
  otaReplyTopic,
  otaTopic,
  otaTopicFilter,
  parseDeviceClientId,
  parseDeviceUsername,
  parseOtaTopic,
  type DecodeErrorCode,
  type DecodeResult,
  type UpgradeParams,
} from './protocol.js';

const PK = 'prod_A-1';
const DK = 'dev.01:aa';

const md5Push: UpgradeParams = {
  jobId: 'job-1',
  version: '2.0.0',
  sign: 'd41d8cd98f00b204e9800998ecf8427e',
  signMethod: 'MD5',
  fileUrl: 'http://127.0.0.1:8080/firmware/abc/download?token=t',
  fileSize: 1024,
};

function topic(kind: (typeof OTA_KINDS)[number], reply = false): string {
  return otaTopic(PK, DK, kind, reply);
}

/** Decodes a JSON value (or raw text) and returns the error, failing the test when decoding succeeded. */
function decodeError(t: string, payload: unknown, raw = false) {
  const result = decodeOtaMessage(t, raw ? (payload as string) : JSON.stringify(payload));
  if (result.ok) throw new Error(`expected a decode error, got ${JSON.stringify(result.message)}`);
  return result.error;
}

function decodeOk(t: string, payload: unknown): Extract<DecodeResult, { ok: true }>['message'] {
  const result = decodeOtaMessage(t, JSON.stringify(payload));
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.error)}`);
  return result.message;
}

const request = (method: string, params: unknown, extra: Record<string, unknown> = {}) => ({
  id: 'r1',
  version: '1.0',
  method,
  params,
  ...extra,
});

describe('topics', () => {
  it('builds every request, reply and presence topic', () => {
    expect(topic('inform')).toBe(`/sys/${PK}/${DK}/ota/device/inform`);
    expect(topic('upgrade', true)).toBe(`/sys/${PK}/${DK}/ota/device/upgrade_reply`);
    expect(otaReplyTopic(PK, DK, 'progress')).toBe(`/sys/${PK}/${DK}/ota/device/progress_reply`);
    expect(topic('presence')).toBe(`/sys/${PK}/${DK}/ota/device/presence`);
    expect(deviceNamespace(PK, DK)).toBe(`/sys/${PK}/${DK}/`);
  });

  it('refuses to build a presence reply topic or a topic from keys that would break it', () => {
    expect(() => otaTopic(PK, DK, 'presence', true)).toThrow();
    expect(() => otaTopic('a/b', DK, 'inform')).toThrow();
    expect(() => otaTopic(PK, 'd+', 'inform')).toThrow();
    expect(() => otaTopic(PK, '#', 'inform')).toThrow();
    expect(() => otaTopic('', DK, 'inform')).toThrow();
    expect(() => otaTopic('p.k', DK, 'inform')).toThrow();
    expect(() => otaTopicFilter('presence', true)).toThrow();
  });

  it('builds wildcard filters for the gateway', () => {
    expect(otaTopicFilter('progress')).toBe('/sys/+/+/ota/device/progress');
    expect(otaTopicFilter('upgrade', true)).toBe('/sys/+/+/ota/device/upgrade_reply');
  });

  it('parses every kind, with and without _reply', () => {
    for (const kind of OTA_KINDS) {
      expect(parseOtaTopic(topic(kind))).toEqual({ productKey: PK, deviceKey: DK, kind, isReply: false });
    }
    for (const kind of REQUEST_KINDS) {
      expect(parseOtaTopic(topic(kind, true))).toEqual({ productKey: PK, deviceKey: DK, kind, isReply: true });
    }
  });

  it.each([
    ['other namespace', `/ota/${PK}/${DK}/ota/device/inform`],
    ['no leading slash', `sys/${PK}/${DK}/ota/device/inform`],
    ['unknown kind', `/sys/${PK}/${DK}/ota/device/reboot`],
    ['presence reply', `/sys/${PK}/${DK}/ota/device/presence_reply`],
    ['double reply', `/sys/${PK}/${DK}/ota/device/upgrade_reply_reply`],
    ['trailing slash', `/sys/${PK}/${DK}/ota/device/inform/`],
    ['extra segment', `/sys/${PK}/${DK}/x/ota/device/inform`],
    ['missing device key', `/sys/${PK}/ota/device/inform`],
    ['upper-case kind', `/sys/${PK}/${DK}/ota/device/INFORM`],
    ['wildcard device key', `/sys/${PK}/+/ota/device/inform`],
    ['dot in product key', `/sys/p.k/${DK}/ota/device/inform`],
    ['empty', ''],
  ])('returns null for %s', (_label, text) => {
    expect(parseOtaTopic(text)).toBeNull();
  });

  it('checks that a topic or filter lies inside a device namespace', () => {
    expect(isInDeviceNamespace(topic('progress'), PK, DK)).toBe(true);
    expect(isInDeviceNamespace(`/sys/${PK}/${DK}/ota/device/#`, PK, DK)).toBe(true);
    expect(isInDeviceNamespace(`/sys/${PK}/${DK}/`, PK, DK)).toBe(false);
    expect(isInDeviceNamespace(`/sys/${PK}/other/ota/device/progress`, PK, DK)).toBe(false);
    expect(isInDeviceNamespace(`/sys/${PK}/+/ota/device/progress`, PK, DK)).toBe(false);
    expect(isInDeviceNamespace('#', PK, DK)).toBe(false);
    expect(isInDeviceNamespace(`/sys/${PK}/${DK}x/ota`, PK, DK)).toBe(false);
    expect(isInDeviceNamespace('/sys/+/+/x', '+', '+')).toBe(false);
  });
});

describe('credentials', () => {
  it('builds the client id, username and password', () => {
    expect(deviceClientId(PK, DK)).toBe(`${PK}.${DK}`);
    expect(deviceUsername(PK, DK)).toBe(`${PK}&${DK}`);
    expect(deviceMqttCredentials(PK, DK, 's3cret')).toEqual({
      clientId: `${PK}.${DK}`,
      username: `${PK}&${DK}`,
      password: 's3cret',
    });
  });

  it('parses them back, splitting at the first separator so device keys may contain dots', () => {
    expect(parseDeviceClientId(`${PK}.${DK}`)).toEqual({ productKey: PK, deviceKey: DK });
    expect(parseDeviceUsername(`${PK}&${DK}`)).toEqual({ productKey: PK, deviceKey: DK });
  });

  it.each(['', 'nodot', '.dk', 'pk.', 'pk.d/k', 'pk.d k', 'p&k.dk', 'pk.dk#'])('rejects client id %j', (text) => {
    expect(parseDeviceClientId(text)).toBeNull();
  });

  it.each(['', 'noamp', '&dk', 'pk&', 'pk&d&k', 'pk&d+k', 'p.k&dk'])('rejects username %j', (text) => {
    expect(parseDeviceUsername(text)).toBeNull();
  });
});

describe('progress steps', () => {
  it('maps 0..100 to a percentage', () => {
    for (let step = 0; step <= 100; step++) {
      expect(interpretProgressStep(String(step))).toEqual({ kind: 'progress', percent: step });
    }
    expect(interpretProgressStep(55)).toEqual({ kind: 'progress', percent: 55 });
  });

  it('maps the documented failure steps to the GraphQL failure reasons', () => {
    expect(interpretProgressStep(PROGRESS_STEP.UNDEFINED_FAILURE)).toEqual({ kind: 'failed', reason: 'UNDEFINED' });
    expect(interpretProgressStep(PROGRESS_STEP.DOWNLOAD_FAILED)).toEqual({ kind: 'failed', reason: 'DOWNLOAD_FAILED' });
    expect(interpretProgressStep(PROGRESS_STEP.VERIFICATION_FAILED)).toEqual({
      kind: 'failed',
      reason: 'VERIFICATION_FAILED',
    });
    expect(interpretProgressStep(PROGRESS_STEP.WRITE_FAILED)).toEqual({ kind: 'failed', reason: 'WRITE_FAILED' });
    expect(interpretProgressStep(-3)).toEqual({ kind: 'failed', reason: 'VERIFICATION_FAILED' });
  });

  it('treats custom steps below -4 as undefined failures', () => {
    expect(interpretProgressStep('-5')).toEqual({ kind: 'failed', reason: 'UNDEFINED' });
    expect(interpretProgressStep('-1000')).toEqual({ kind: 'failed', reason: 'UNDEFINED' });
    expect(interpretProgressStep(-77)).toEqual({ kind: 'failed', reason: 'UNDEFINED' });
  });

  it.each(['101', '1.5', 'abc', '', ' 5', '5 ', '+5', '1e2', '--1', '99999999999'])('rejects step %j', (step) => {
    expect(interpretProgressStep(step)).toBeNull();
  });

  it.each([101, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects numeric step %s', (step) => {
    expect(interpretProgressStep(step)).toBeNull();
  });
});

describe('encoding and decoding valid messages', () => {
  it('round-trips every request kind', () => {
    const inform = decodeOtaMessage(topic('inform'), encodeRequest('inform', 'a', { version: '1.0.3' }));
    expect(inform).toEqual({
      ok: true,
      message: {
        productKey: PK,
        deviceKey: DK,
        kind: 'inform',
        isReply: false,
        request: { id: 'a', version: '1.0', method: 'ota.device.inform', params: { version: '1.0.3' } },
      },
    });

    const upgrade = decodeOk(topic('upgrade'), JSON.parse(encodeRequest('upgrade', 'b', md5Push).toString()));
    expect(upgrade.kind === 'upgrade' && !upgrade.isReply && upgrade.request.params).toEqual(md5Push);

    const progress = decodeOk(topic('progress'), JSON.parse(encodeRequest('progress', 'c', { step: '-2', desc: 'x' }).toString()));
    expect(progress.kind === 'progress' && !progress.isReply && progress.request.params).toEqual({ step: '-2', desc: 'x' });

    const cancel = decodeOk(topic('cancel'), JSON.parse(encodeRequest('cancel', 'd', { jobId: 'job-1' }).toString()));
    expect(cancel.kind === 'cancel' && !cancel.isReply && cancel.request.method).toBe(OTA_METHODS.cancel);

    const getversion = decodeOk(topic('getversion'), JSON.parse(encodeRequest('getversion', 'e', {}).toString()));
    expect(getversion.kind === 'getversion' && !getversion.isReply && getversion.request.params).toEqual({});
  });

  it('accepts a SHA256 push and https URLs', () => {
    const push: UpgradeParams = { ...md5Push, signMethod: 'SHA256', sign: 'AB'.repeat(32), fileUrl: 'https://x.example/f' };
    expect(decodeOk(topic('upgrade'), request('ota.device.upgrade', push)).kind).toBe('upgrade');
  });

  it('normalises numeric and zero-padded steps to text', () => {
    const numeric = decodeOk(topic('progress'), request('ota.device.progress', { step: 40 }));
    expect(numeric.kind === 'progress' && !numeric.isReply && numeric.request.params).toEqual({ step: '40' });
    const padded = decodeOk(topic('progress'), request('ota.device.progress', { step: '007' }));
    expect(padded.kind === 'progress' && !padded.isReply && padded.request.params.step).toBe('7');
  });

  it('accepts getversion without params and tolerates unknown extra fields', () => {
    expect(decodeOk(topic('getversion'), { id: '1', version: '1.0', method: 'ota.device.getversion' }).kind).toBe('getversion');
    const extra = decodeOk(topic('inform'), request('ota.device.inform', { version: '1', module: 'x' }, { sys: {} }));
    expect(extra.kind === 'inform' && !extra.isReply && extra.request.params).toEqual({ version: '1' });
  });

  it('decodes replies of every kind', () => {
    for (const kind of ['inform', 'upgrade', 'progress', 'cancel'] as const) {
      const message = decodeOtaMessage(topic(kind, true), encodeReply('r9', REPLY_CODE.NO_TASK, { why: 'x' }));
      expect(message).toEqual({
        ok: true,
        message: { productKey: PK, deviceKey: DK, kind, isReply: true, reply: { id: 'r9', code: 764, data: { why: 'x' } } },
      });
    }
    const missingData = decodeOk(topic('upgrade', true), { id: 'r', code: 200 });
    expect(missingData.isReply && missingData.reply.data).toEqual({});
  });

  it('decodes a getversion reply as a list of pushes, and a failed one as an empty list', () => {
    const ok = decodeOk(topic('getversion', true), { id: 'g', code: 200, data: [md5Push] });
    expect(ok.kind === 'getversion' && ok.isReply && ok.reply.data).toEqual([md5Push]);
    const failed = decodeOk(topic('getversion', true), { id: 'g', code: 500, data: { message: 'x' } });
    expect(failed.kind === 'getversion' && failed.isReply && failed.reply.data).toEqual([]);
  });

  it('decodes the presence will', () => {
    const result = decodeOtaMessage(topic('presence'), encodePresence());
    expect(result).toEqual({
      ok: true,
      message: { productKey: PK, deviceKey: DK, kind: 'presence', isReply: false, presence: { online: false } },
    });
  });

  it('accepts Uint8Array and string payloads as well as Buffers', () => {
    const bytes = new Uint8Array(encodeRequest('inform', 'u', { version: '3' }));
    expect(decodeOtaMessage(topic('inform'), bytes).ok).toBe(true);
    // A Buffer that is a slice of a larger pool must be read from its own offset.
    const pooled = Buffer.concat([Buffer.from('garbage'), encodeRequest('inform', 'u', { version: '3' })]).subarray(7);
    expect(decodeOtaMessage(topic('inform'), pooled).ok).toBe(true);
    expect(decodeOtaMessage(topic('inform'), pooled.toString()).ok).toBe(true);
  });
});

describe('decoding malformed messages', () => {
  const expectError = (t: string, payload: unknown, code: DecodeErrorCode, id: string | null, raw = false): void => {
    const error = decodeError(t, payload, raw);
    expect({ code: error.code, id: error.id }).toEqual({ code, id });
    expect(error.message.length).toBeGreaterThan(0);
  };

  it('refuses non-OTA topics, without a topic or id', () => {
    const error = decodeError('/sys/pk/dk/thing/event', { id: '1' });
    expect(error).toMatchObject({ code: 'UNKNOWN_TOPIC', id: null, topic: null });
  });

  it('keeps the parsed topic on errors so the gateway knows whom to answer', () => {
    const error = decodeError(topic('progress'), 'nope', true);
    expect(error.topic).toEqual({ productKey: PK, deviceKey: DK, kind: 'progress', isReply: false });
  });

  it('refuses oversize payloads before parsing, still reading a leading id', () => {
    const big = JSON.stringify(request('ota.device.progress', { step: '1', desc: 'x'.repeat(MAX_PAYLOAD_BYTES) }));
    expectError(topic('progress'), big, 'PAYLOAD_TOO_LARGE', 'r1', true);
    const bigNoId = JSON.stringify({ method: 'x', pad: 'y'.repeat(MAX_PAYLOAD_BYTES) });
    expectError(topic('progress'), bigNoId, 'PAYLOAD_TOO_LARGE', null, true);
    // Exactly the limit is fine as far as size goes.
    const filler = 'z'.repeat(MAX_PAYLOAD_BYTES - JSON.stringify(request('ota.device.inform', { version: '' })).length);
    const atLimit = JSON.stringify(request('ota.device.inform', { version: filler }));
    expect(Buffer.byteLength(atLimit)).toBe(MAX_PAYLOAD_BYTES);
    expect(decodeError(topic('inform'), atLimit, true).code).toBe('INVALID_PARAMS'); // version too long, not too large
  });

  it('counts bytes, not characters, against the limit', () => {
    const multiByte = JSON.stringify(request('ota.device.progress', { step: '1', desc: 'é'.repeat(MAX_PAYLOAD_BYTES / 2) }));
    expect(multiByte.length).toBeLessThan(MAX_PAYLOAD_BYTES + 100);
    expectError(topic('progress'), multiByte, 'PAYLOAD_TOO_LARGE', 'r1', true);
  });

  it('refuses non-JSON, reading the id from a truncated request when it leads', () => {
    expectError(topic('progress'), '{"id":"abc","version":"1.0","method":"ota.dev', 'NOT_JSON', 'abc', true);
    expectError(topic('progress'), '{"id": 17, "version"', 'NOT_JSON', '17', true);
    expectError(topic('progress'), 'hello', 'NOT_JSON', null, true);
    expectError(topic('progress'), '', 'NOT_JSON', null, true);
    expectError(topic('progress'), '{"version":"1.0","id":"late"', 'NOT_JSON', null, true);
    expect(decodeOtaMessage(topic('progress'), Buffer.from([0xff, 0xfe, 0x00])).ok).toBe(false);
  });

  it.each([
    ['array', [1, 2]],
    ['null', null],
    ['string', 'x'],
    ['number', 5],
  ])('refuses a JSON %s that is not an object', (_label, value) => {
    expectError(topic('inform'), value, 'NOT_AN_OBJECT', null);
  });

  it('refuses missing or ill-typed ids, keeping a numeric id for the 400 reply', () => {
    expectError(topic('inform'), { version: '1.0', method: 'ota.device.inform', params: { version: '1' } }, 'INVALID_ID', null);
    expectError(topic('inform'), request('ota.device.inform', { version: '1' }, { id: '' }), 'INVALID_ID', null);
    expectError(topic('inform'), request('ota.device.inform', { version: '1' }, { id: 'x'.repeat(129) }), 'INVALID_ID', null);
    expectError(topic('inform'), request('ota.device.inform', { version: '1' }, { id: 42 }), 'INVALID_ID', '42');
    expectError(topic('inform'), request('ota.device.inform', { version: '1' }, { id: 1.5 }), 'INVALID_ID', null);
    expectError(topic('inform'), request('ota.device.inform', { version: '1' }, { id: { a: 1 } }), 'INVALID_ID', null);
    expectError(topic('upgrade', true), { id: 7, code: 200 }, 'INVALID_ID', '7');
  });

  it('refuses a wrong or missing protocol version', () => {
    expectError(topic('inform'), request('ota.device.inform', { version: '1' }, { version: '2.0' }), 'UNSUPPORTED_VERSION', 'r1');
    expectError(topic('inform'), { id: 'r1', method: 'ota.device.inform', params: { version: '1' } }, 'UNSUPPORTED_VERSION', 'r1');
    expectError(topic('inform'), request('ota.device.inform', { version: '1' }, { version: 1 }), 'UNSUPPORTED_VERSION', 'r1');
  });

  it('refuses unknown methods and methods on the wrong topic', () => {
    expectError(topic('inform'), request('ota.device.reboot', {}), 'UNKNOWN_METHOD', 'r1');
    expectError(topic('inform'), request(7 as unknown as string, {}), 'UNKNOWN_METHOD', 'r1');
    expectError(topic('inform'), { id: 'r1', version: '1.0', params: {} }, 'UNKNOWN_METHOD', 'r1');
    expectError(topic('inform'), request('ota.device.progress', { step: '5' }), 'METHOD_MISMATCH', 'r1');
    expectError(topic('upgrade'), request('ota.device.inform', { version: '1' }), 'METHOD_MISMATCH', 'r1');
  });

  it.each<[string, (typeof REQUEST_KINDS)[number], unknown]>([
    ['inform without params', 'inform', undefined],
    ['inform with a numeric version', 'inform', { version: 2 }],
    ['inform with an empty version', 'inform', { version: '' }],
    ['inform with params as a string', 'inform', 'v1'],
    ['progress with step 101', 'progress', { step: '101' }],
    ['progress with a text step', 'progress', { step: 'done' }],
    ['progress with a fractional step', 'progress', { step: 2.5 }],
    ['progress without a step', 'progress', { desc: 'x' }],
    ['progress with a numeric desc', 'progress', { step: '-1', desc: 5 }],
    ['progress with a huge desc', 'progress', { step: '-1', desc: 'x'.repeat(3000) }],
    ['cancel without a jobId', 'cancel', {}],
    ['cancel with a numeric jobId', 'cancel', { jobId: 5 }],
    ['getversion with params as an array', 'getversion', []],
    ['upgrade without params', 'upgrade', undefined],
    ['upgrade without a jobId', 'upgrade', { ...md5Push, jobId: undefined }],
    ['upgrade with an unknown signMethod', 'upgrade', { ...md5Push, signMethod: 'CRC32' }],
    ['upgrade with a lower-case signMethod', 'upgrade', { ...md5Push, signMethod: 'md5' }],
    ['upgrade with a SHA256-length sign for MD5', 'upgrade', { ...md5Push, sign: 'a'.repeat(64) }],
    ['upgrade with a non-hex sign', 'upgrade', { ...md5Push, sign: 'z'.repeat(32) }],
    ['upgrade with an ftp URL', 'upgrade', { ...md5Push, fileUrl: 'ftp://x/y' }],
    ['upgrade with a relative URL', 'upgrade', { ...md5Push, fileUrl: '/firmware/1' }],
    ['upgrade with a negative size', 'upgrade', { ...md5Push, fileSize: -1 }],
    ['upgrade with a fractional size', 'upgrade', { ...md5Push, fileSize: 1.5 }],
    ['upgrade with a size as text', 'upgrade', { ...md5Push, fileSize: '1024' }],
    ['upgrade with an empty version', 'upgrade', { ...md5Push, version: '' }],
  ])('refuses %s with INVALID_PARAMS and the id', (_label, kind, params) => {
    const error = decodeError(topic(kind), request(OTA_METHODS[kind], params));
    expect(error.code).toBe('INVALID_PARAMS');
    expect(error.id).toBe('r1');
  });

  it('refuses replies without an integer code', () => {
    expectError(topic('upgrade', true), { id: 'r', data: {} }, 'INVALID_REPLY', 'r');
    expectError(topic('upgrade', true), { id: 'r', code: '200' }, 'INVALID_REPLY', 'r');
    expectError(topic('upgrade', true), { id: 'r', code: 200.5 }, 'INVALID_REPLY', 'r');
  });

  it('refuses a successful getversion reply whose data is not a list of valid pushes', () => {
    expectError(topic('getversion', true), { id: 'g', code: 200, data: {} }, 'INVALID_REPLY', 'g');
    expectError(topic('getversion', true), { id: 'g', code: 200, data: [{ ...md5Push, fileSize: -5 }] }, 'INVALID_REPLY', 'g');
  });

  it('refuses a presence message other than {online:false}', () => {
    expectError(topic('presence'), { online: true }, 'INVALID_PRESENCE', null);
    expectError(topic('presence'), {}, 'INVALID_PRESENCE', null);
    expectError(topic('presence'), { online: 'false' }, 'INVALID_PRESENCE', null);
  });

  it('never throws, whatever the bytes', () => {
    let seed = 1;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const fragments = ['{', '}', '"id"', ':', '"x"', ',', '[', ']', 'null', '1', '"params"', '"step"', '\\', '"'];
    for (let i = 0; i < 2000; i++) {
      const parts = Array.from({ length: Math.floor(random() * 12) }, () => fragments[Math.floor(random() * fragments.length)]);
      for (const kind of OTA_KINDS) {
        expect(() => decodeOtaMessage(topic(kind), parts.join(''))).not.toThrow();
      }
      const bytes = Buffer.from(Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256)));
      expect(() => decodeOtaMessage(topic('upgrade', true), bytes)).not.toThrow();
    }
  });
});
