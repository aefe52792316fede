/**
 * The device OTA protocol of DESIGN §4 (EnOS's topic and message shapes), as pure code shared by the
 * server's device gateway and the fleet simulator. Nothing here touches the network or the database:
 * topics, message shapes, reply codes, progress steps, credentials conventions, and one decoder that
 * turns a raw MQTT payload into either a validated message or a typed error.
 */
import { z } from 'zod';
import { SIGN_METHODS, type SignMethod } from '../db/sign-methods.js';

// ── Constants ───────────────────────────────────────────────────────────────────────────────────

/** The `version` every request carries. */
export const PROTOCOL_VERSION = '1.0';

/**
 * Largest payload the decoder accepts, in bytes. The biggest legitimate message is a getversion
 * reply listing pushes (a few hundred bytes each); anything larger is refused before JSON parsing so
 * a hostile device cannot make the gateway parse megabytes.
 */
export const MAX_PAYLOAD_BYTES = 16 * 1024;

/** Longest request id, key, version, job id the decoder accepts (they end up in database rows and logs). */
export const MAX_ID_LENGTH = 128;
export const MAX_VERSION_LENGTH = 128;
/** Progress `desc` texts longer than this are refused rather than silently cut. */
export const MAX_DESC_LENGTH = 2048;

export const OTA_KINDS = ['inform', 'upgrade', 'progress', 'cancel', 'getversion', 'presence'] as const;
/** The last segment of an OTA topic. */
export type OtaKind = (typeof OTA_KINDS)[number];

/** Kinds that are requests (`{id, version, method, params}`) and so have a `_reply` topic. Presence is a bare will message. */
export const REQUEST_KINDS = ['inform', 'upgrade', 'progress', 'cancel', 'getversion'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

export const OTA_METHODS = {
  inform: 'ota.device.inform',
  upgrade: 'ota.device.upgrade',
  progress: 'ota.device.progress',
  cancel: 'ota.device.cancel',
  getversion: 'ota.device.getversion',
} as const satisfies Record<RequestKind, string>;

export const REPLY_SUFFIX = '_reply';

/** Reply codes with a meaning in the protocol. For an upgrade reply any code other than OK means "declined". */
export const REPLY_CODE = {
  OK: 200,
  BAD_REQUEST: 400,
  /** Progress reply: there is no task for this device. */
  NO_TASK: 764,
  /** Progress reply: the device's task has not been pushed yet. */
  TASK_NOT_STARTED: 765,
} as const;

/** Progress steps with a fixed meaning; "0".."100" are percentages, anything below -4 is a device-specific failure. */
export const PROGRESS_STEP = {
  UNDEFINED_FAILURE: '-1',
  DOWNLOAD_FAILED: '-2',
  VERIFICATION_FAILED: '-3',
  WRITE_FAILED: '-4',
} as const;

/** The failure reasons a progress step can produce; the strings are the GraphQL `FailureReason` values. */
export type StepFailureReason = 'UNDEFINED' | 'DOWNLOAD_FAILED' | 'VERIFICATION_FAILED' | 'WRITE_FAILED';

// ── Keys, topics ────────────────────────────────────────────────────────────────────────────────

/**
 * Product keys are letters, digits, `_` and `-`: they must not contain `.` or `&` because the client
 * id and username put them first and are split at the first `.` / `&`.
 * Device keys may also contain `.` and `:` (MAC-address-like keys). Neither may contain MQTT topic
 * wildcards or `/`, so a key can always be placed in a topic. See docs/simulator.md.
 */
export const PRODUCT_KEY_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const DEVICE_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

export function isValidProductKey(productKey: string): boolean {
  return PRODUCT_KEY_PATTERN.test(productKey);
}

export function isValidDeviceKey(deviceKey: string): boolean {
  return DEVICE_KEY_PATTERN.test(deviceKey);
}

export interface DeviceAddress {
  productKey: string;
  deviceKey: string;
}

function assertAddress(productKey: string, deviceKey: string): void {
  if (!isValidProductKey(productKey)) throw new Error(`invalid product key ${JSON.stringify(productKey)}`);
  if (!isValidDeviceKey(deviceKey)) throw new Error(`invalid device key ${JSON.stringify(deviceKey)}`);
}

/** `/sys/{productKey}/{deviceKey}/`: the only namespace a device may publish or subscribe under. */
export function deviceNamespace(productKey: string, deviceKey: string): string {
  assertAddress(productKey, deviceKey);
  return `/sys/${productKey}/${deviceKey}/`;
}

/** `/sys/{pk}/{dk}/ota/device/{kind}`, or its `_reply` topic. Throws on keys that cannot be put in a topic. */
export function otaTopic(productKey: string, deviceKey: string, kind: OtaKind, reply = false): string {
  if (reply && kind === 'presence') throw new Error('presence has no reply topic');
  return `${deviceNamespace(productKey, deviceKey)}ota/device/${kind}${reply ? REPLY_SUFFIX : ''}`;
}

export function otaReplyTopic(productKey: string, deviceKey: string, kind: RequestKind): string {
  return otaTopic(productKey, deviceKey, kind, true);
}

/** A subscription filter matching one kind for every device: `/sys/+/+/ota/device/{kind}[_reply]`. */
export function otaTopicFilter(kind: OtaKind, reply = false): string {
  if (reply && kind === 'presence') throw new Error('presence has no reply topic');
  return `/sys/+/+/ota/device/${kind}${reply ? REPLY_SUFFIX : ''}`;
}

export interface ParsedOtaTopic extends DeviceAddress {
  kind: OtaKind;
  isReply: boolean;
}

const TOPIC_PATTERN = /^\/sys\/([^/]+)\/([^/]+)\/ota\/device\/([a-z]+)(_reply)?$/;

/** Parses an OTA topic; null for anything else (other namespaces, unknown kinds, bad keys, `presence_reply`). */
export function parseOtaTopic(topic: string): ParsedOtaTopic | null {
  const match = TOPIC_PATTERN.exec(topic);
  if (!match) return null;
  const [, productKey, deviceKey, kindText, replySuffix] = match as unknown as [string, string, string, string, string | undefined];
  if (!isValidProductKey(productKey) || !isValidDeviceKey(deviceKey)) return null;
  if (!(OTA_KINDS as readonly string[]).includes(kindText)) return null;
  const kind = kindText as OtaKind;
  const isReply = replySuffix !== undefined;
  if (isReply && kind === 'presence') return null;
  return { productKey, deviceKey, kind, isReply };
}

/**
 * True when `topicOrFilter` lies inside the device's own namespace. Wildcards are allowed only after
 * the namespace prefix, so `/sys/+/…` or `#` are refused. Meant for broker ACLs.
 */
export function isInDeviceNamespace(topicOrFilter: string, productKey: string, deviceKey: string): boolean {
  if (!isValidProductKey(productKey) || !isValidDeviceKey(deviceKey)) return false;
  const prefix = `/sys/${productKey}/${deviceKey}/`;
  return topicOrFilter.startsWith(prefix) && topicOrFilter.length > prefix.length;
}

// ── Credentials ─────────────────────────────────────────────────────────────────────────────────

/** MQTT client id of a device: `{productKey}.{deviceKey}`. */
export function deviceClientId(productKey: string, deviceKey: string): string {
  assertAddress(productKey, deviceKey);
  return `${productKey}.${deviceKey}`;
}

/** MQTT username of a device: `{productKey}&{deviceKey}`. */
export function deviceUsername(productKey: string, deviceKey: string): string {
  assertAddress(productKey, deviceKey);
  return `${productKey}&${deviceKey}`;
}

function splitAddress(text: string, separator: string): DeviceAddress | null {
  // Product keys never contain the separator, so the first one ends the product key; the device
  // key may itself contain `.` (never `&`).
  const at = text.indexOf(separator);
  if (at < 0) return null;
  const productKey = text.slice(0, at);
  const deviceKey = text.slice(at + 1);
  if (!isValidProductKey(productKey) || !isValidDeviceKey(deviceKey)) return null;
  return { productKey, deviceKey };
}

export function parseDeviceClientId(clientId: string): DeviceAddress | null {
  return splitAddress(clientId, '.');
}

export function parseDeviceUsername(username: string): DeviceAddress | null {
  return splitAddress(username, '&');
}

export interface DeviceMqttCredentials {
  clientId: string;
  username: string;
  password: string;
}

/** The three CONNECT fields a device uses; password is the device secret as is. */
export function deviceMqttCredentials(productKey: string, deviceKey: string, secret: string): DeviceMqttCredentials {
  return {
    clientId: deviceClientId(productKey, deviceKey),
    username: deviceUsername(productKey, deviceKey),
    password: secret,
  };
}

// ── Message shapes ──────────────────────────────────────────────────────────────────────────────

export interface InformParams {
  version: string;
}

/** The upgrade push. `sign` is the hex digest of the file under `signMethod`; `fileSize` is in bytes. */
export interface UpgradeParams {
  /** The job's database id (a UUID), as EnOS devices expect it. */
  jobId: string;
  /** The same job as the GraphQL API names it (`OtaJob.id`, a global ID): Updraft always sends it. */
  otaJobId?: string;
  version: string;
  sign: string;
  signMethod: SignMethod;
  fileUrl: string;
  fileSize: number;
}

export interface ProgressParams {
  /** Integer text: "0".."100", or a negative failure step. Decoding normalises numbers to text. */
  step: string;
  desc?: string;
}

export interface CancelParams {
  jobId: string;
  /** As in UpgradeParams. */
  otaJobId?: string;
}

export type GetVersionParams = Record<string, never>;

export interface PresencePayload {
  online: false;
}

export interface OtaRequestParams {
  inform: InformParams;
  upgrade: UpgradeParams;
  progress: ProgressParams;
  cancel: CancelParams;
  getversion: GetVersionParams;
}

/**
 * Reply data per kind. Only the getversion reply has a defined shape: the pending pushes. The decoder
 * turns a getversion reply with a code other than 200 into an empty list, since all a device can do
 * with it is "nothing pending".
 */
export interface OtaReplyData {
  inform: unknown;
  upgrade: unknown;
  progress: unknown;
  cancel: unknown;
  getversion: UpgradeParams[];
}

export interface OtaRequest<K extends RequestKind = RequestKind> {
  id: string;
  version: typeof PROTOCOL_VERSION;
  method: (typeof OTA_METHODS)[K];
  params: OtaRequestParams[K];
}

export interface OtaReply<D = unknown> {
  id: string;
  code: number;
  data: D;
}

type RequestMessageOf<K extends RequestKind> = {
  [P in K]: DeviceAddress & { kind: P; isReply: false; request: OtaRequest<P> };
}[K];
type ReplyMessageOf<K extends RequestKind> = {
  [P in K]: DeviceAddress & { kind: P; isReply: true; reply: OtaReply<OtaReplyData[P]> };
}[K];
export type PresenceMessage = DeviceAddress & { kind: 'presence'; isReply: false; presence: PresencePayload };

/** A decoded message: narrow on `kind` and `isReply`. */
export type OtaMessage = RequestMessageOf<RequestKind> | ReplyMessageOf<RequestKind> | PresenceMessage;

// ── Encoding ────────────────────────────────────────────────────────────────────────────────────

export function encodeRequest<K extends RequestKind>(kind: K, id: string, params: OtaRequestParams[K]): Buffer {
  const request: OtaRequest<K> = { id, version: PROTOCOL_VERSION, method: OTA_METHODS[kind], params };
  return Buffer.from(JSON.stringify(request));
}

export function encodeReply(id: string, code: number, data: unknown = {}): Buffer {
  const reply: OtaReply = { id, code, data };
  return Buffer.from(JSON.stringify(reply));
}

/** The will payload a device registers on its presence topic. */
export function encodePresence(): Buffer {
  return Buffer.from(JSON.stringify({ online: false } satisfies PresencePayload));
}

// ── Request order ───────────────────────────────────────────────────────────────────────────────

/** Where a request stands in its device's order: `<session>-<counter>` ids (docs/engine.md, "Report order"). */
export interface RequestOrder {
  session: string;
  seq: number;
}

const ORDERED_ID = /^(.+)-(\d{1,15})$/;

/**
 * The order a request id carries, or null. Devices that number their requests `<session>-<counter>`
 * (the counter grows by one per request, the session part changes whenever the counter starts
 * again, e.g. at boot) get their reports applied in that order; other ids are applied as they come.
 */
export function requestOrder(id: string): RequestOrder | null {
  const match = ORDERED_ID.exec(id);
  return match ? { session: match[1], seq: Number(match[2]) } : null;
}

// ── Progress steps ──────────────────────────────────────────────────────────────────────────────

export type StepOutcome = { kind: 'progress'; percent: number } | { kind: 'failed'; reason: StepFailureReason };

const STEP_TEXT = /^-?\d{1,10}$/;

/**
 * What a progress step means: a percentage (0..100) or a failure reason. Steps below -4 are
 * device-specific failures and count as UNDEFINED. Returns null for anything that is not an integer
 * step (above 100, fractions, text), which the gateway answers with 400.
 */
export function interpretProgressStep(step: string | number): StepOutcome | null {
  let value: number;
  if (typeof step === 'number') {
    if (!Number.isSafeInteger(step)) return null;
    value = step;
  } else {
    if (!STEP_TEXT.test(step)) return null;
    value = Number(step);
  }
  if (value > 100) return null;
  if (value >= 0) return { kind: 'progress', percent: value };
  switch (value) {
    case -2:
      return { kind: 'failed', reason: 'DOWNLOAD_FAILED' };
    case -3:
      return { kind: 'failed', reason: 'VERIFICATION_FAILED' };
    case -4:
      return { kind: 'failed', reason: 'WRITE_FAILED' };
    default:
      // -1, and every custom step below -4.
      return { kind: 'failed', reason: 'UNDEFINED' };
  }
}

// ── Validation schemas ──────────────────────────────────────────────────────────────────────────

const boundedText = (max: number) => z.string().min(1).max(max);

const HEX_LENGTH: Record<SignMethod, number> = { MD5: 32, SHA256: 64 };

/** Unknown extra fields are tolerated (and dropped) so newer peers can add fields without breaking older ones. */
export const upgradeParamsSchema = z
  .object({
    jobId: boundedText(MAX_ID_LENGTH),
    otaJobId: boundedText(MAX_ID_LENGTH).optional(),
    version: boundedText(MAX_VERSION_LENGTH),
    sign: z.string().regex(/^[0-9a-fA-F]+$/, 'sign must be a hex digest'),
    signMethod: z.enum(SIGN_METHODS),
    fileUrl: z
      .string()
      .max(4096)
      .refine((text) => /^https?:$/.test(safeUrl(text)?.protocol ?? ''), 'fileUrl must be an http(s) URL'),
    fileSize: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  })
  .refine((p) => p.sign.length === HEX_LENGTH[p.signMethod], {
    message: 'sign length does not match signMethod',
    path: ['sign'],
  });

function safeUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

const progressParamsSchema = z
  .object({
    step: z.union([z.string(), z.number()]),
    desc: z.string().max(MAX_DESC_LENGTH).optional(),
  })
  .transform((p, ctx) => {
    if (interpretProgressStep(p.step) === null) {
      ctx.addIssue({ code: 'custom', message: 'step must be an integer text up to "100"', path: ['step'] });
      return z.NEVER;
    }
    // Normalise: numeric steps become text, and "007" becomes "7", so consumers see one form.
    const params: ProgressParams = { step: String(Number(p.step)) };
    if (p.desc !== undefined) params.desc = p.desc;
    return params;
  });

const paramsSchemas = {
  inform: z.object({ version: boundedText(MAX_VERSION_LENGTH) }),
  upgrade: upgradeParamsSchema,
  progress: progressParamsSchema,
  cancel: z.object({ jobId: boundedText(MAX_ID_LENGTH), otaJobId: boundedText(MAX_ID_LENGTH).optional() }),
  getversion: z.object({}).transform((): GetVersionParams => ({})),
} satisfies Record<RequestKind, z.ZodType>;

const getVersionDataSchema = z.array(upgradeParamsSchema).max(100);

const presenceSchema = z.object({ online: z.literal(false) });

// ── Decoding ────────────────────────────────────────────────────────────────────────────────────

export const DECODE_ERROR_CODES = [
  'UNKNOWN_TOPIC',
  'PAYLOAD_TOO_LARGE',
  'NOT_JSON',
  'NOT_AN_OBJECT',
  'INVALID_ID',
  'UNSUPPORTED_VERSION',
  'UNKNOWN_METHOD',
  'METHOD_MISMATCH',
  'INVALID_PARAMS',
  'INVALID_REPLY',
  'INVALID_PRESENCE',
] as const;
export type DecodeErrorCode = (typeof DECODE_ERROR_CODES)[number];

export interface OtaDecodeError {
  code: DecodeErrorCode;
  /** Human-readable, safe to log and to send back in a 400 reply's data. */
  message: string;
  /** The request id when one could be read (answer with 400 on the reply topic), else null. */
  id: string | null;
  /** The parsed topic, null when the topic itself is not an OTA topic. */
  topic: ParsedOtaTopic | null;
}

export type DecodeResult = { ok: true; message: OtaMessage } | { ok: false; error: OtaDecodeError };

/**
 * Reads an id for error replies: a non-empty string (bounded), or an integer (as text) since some
 * device SDKs send numeric ids. Only a string is a *valid* id.
 */
function readableId(value: unknown): string | null {
  if (typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return null;
}

/**
 * Best effort for payloads we will not or cannot parse (oversize, broken JSON): EnOS devices put the
 * id first, so a leading `{"id":"…"` is enough to answer 400 to the right request.
 */
const LEADING_ID = /^\s*\{\s*"id"\s*:\s*(?:"([^"\\]{1,128})"|(\d{1,15})\s*[,}])/;
function scanLeadingId(text: string): string | null {
  const match = LEADING_ID.exec(text.slice(0, 512));
  if (!match) return null;
  return match[1] ?? match[2] ?? null;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const METHOD_TO_KIND = new Map<string, RequestKind>(REQUEST_KINDS.map((kind) => [OTA_METHODS[kind], kind]));

/** Progress params exactly as `progressParamsSchema` gives them, or null to let the schema decide. */
function fastProgressParams(params: unknown): ProgressParams | null {
  if (!isPlainObject(params)) return null;
  const { step, desc } = params;
  if (typeof step !== 'string' && typeof step !== 'number') return null;
  if (desc !== undefined && (typeof desc !== 'string' || desc.length > MAX_DESC_LENGTH)) return null;
  if (interpretProgressStep(step) === null) return null;
  const result: ProgressParams = { step: String(Number(step)) };
  if (desc !== undefined) result.desc = desc;
  return result;
}

/** Inform params exactly as the inform schema gives them, or null to let the schema decide. */
function fastInformParams(params: unknown): { version: string } | null {
  if (!isPlainObject(params)) return null;
  const { version } = params;
  if (typeof version !== 'string' || version.length < 1 || version.length > MAX_VERSION_LENGTH) return null;
  return { version };
}

/**
 * Decodes one MQTT message of the OTA protocol. Never throws: every malformed input becomes an
 * `OtaDecodeError` whose `id` is set whenever the request id could be read.
 */
export function decodeOtaMessage(topic: string, payload: Uint8Array | string): DecodeResult {
  const parsedTopic = parseOtaTopic(topic);
  const fail = (code: DecodeErrorCode, message: string, id: string | null): DecodeResult => ({
    ok: false,
    error: { code, message, id, topic: parsedTopic },
  });
  if (!parsedTopic) return fail('UNKNOWN_TOPIC', `not an OTA topic: ${topic.slice(0, 200)}`, null);

  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (size > MAX_PAYLOAD_BYTES) {
    const head = typeof payload === 'string' ? payload.slice(0, 512) : Buffer.from(payload.subarray(0, 512)).toString('utf8');
    return fail('PAYLOAD_TOO_LARGE', `payload of ${size} bytes exceeds ${MAX_PAYLOAD_BYTES}`, scanLeadingId(head));
  }

  const text = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return fail('NOT_JSON', 'payload is not valid JSON', scanLeadingId(text));
  }
  if (!isPlainObject(body)) return fail('NOT_AN_OBJECT', 'payload must be a JSON object', null);

  const { productKey, deviceKey, kind } = parsedTopic;
  const address = { productKey, deviceKey };

  if (kind === 'presence') {
    const result = presenceSchema.safeParse(body);
    if (!result.success) return fail('INVALID_PRESENCE', describeIssues(result.error), null);
    return { ok: true, message: { ...address, kind, isReply: false, presence: { online: false } } };
  }

  const id = readableId(body.id);
  if (typeof body.id !== 'string' || id === null) {
    return fail('INVALID_ID', 'id must be a non-empty string of at most 128 characters', id);
  }

  if (parsedTopic.isReply) {
    const code = body.code;
    if (typeof code !== 'number' || !Number.isSafeInteger(code)) {
      return fail('INVALID_REPLY', 'code must be an integer', id);
    }
    // Peers sometimes omit data on error replies; treat a missing data as {}.
    let data: unknown = body.data === undefined ? {} : body.data;
    if (kind === 'getversion') {
      if (code !== REPLY_CODE.OK) {
        data = [];
      } else {
        const result = getVersionDataSchema.safeParse(data);
        if (!result.success) return fail('INVALID_REPLY', `data: ${describeIssues(result.error)}`, id);
        data = result.data satisfies UpgradeParams[];
      }
    }
    const reply: OtaReply = { id, code, data };
    return { ok: true, message: { ...address, kind, isReply: true, reply } as OtaMessage };
  }

  if (body.version !== PROTOCOL_VERSION) {
    return fail('UNSUPPORTED_VERSION', `version must be "${PROTOCOL_VERSION}"`, id);
  }
  if (typeof body.method !== 'string') return fail('UNKNOWN_METHOD', 'method must be a string', id);
  const methodKind = METHOD_TO_KIND.get(body.method);
  if (methodKind === undefined) return fail('UNKNOWN_METHOD', `unknown method ${JSON.stringify(body.method.slice(0, 64))}`, id);
  if (methodKind !== kind) {
    return fail('METHOD_MISMATCH', `method ${body.method} is not allowed on the ${kind} topic`, id);
  }

  // A missing params is only acceptable where there are none to give (getversion).
  const rawParams = body.params === undefined && kind === 'getversion' ? {} : body.params;
  // The messages every device sends all the time skip zod when they are plainly valid (same output);
  // anything else, and every error message, still comes from the schemas.
  const fast = kind === 'progress' ? fastProgressParams(rawParams) : kind === 'inform' ? fastInformParams(rawParams) : null;
  if (fast !== null) {
    return {
      ok: true,
      message: { ...address, kind, isReply: false, request: { id, version: PROTOCOL_VERSION, method: OTA_METHODS[kind], params: fast } } as OtaMessage,
    };
  }
  const result = paramsSchemas[kind].safeParse(rawParams);
  if (!result.success) return fail('INVALID_PARAMS', `params: ${describeIssues(result.error)}`, id);
  const request = { id, version: PROTOCOL_VERSION, method: OTA_METHODS[kind], params: result.data };
  return { ok: true, message: { ...address, kind, isReply: false, request } as OtaMessage };
}
