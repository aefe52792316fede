/**
 * Test fixtures built through the public API (GraphQL over HTTP), plus the one thing only devices
 * could do before the engine exists: putting tasks into a given state, as their reports would.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { TestServer } from './server.js';

export interface SeededProduct {
  productKey: string;
  deviceKeys: string[];
  secrets: Record<string, string>;
}

/** Throws with the response when a mutation did not return its success type. */
export function expectSuccess<T>(result: { data?: Record<string, any>; errors?: unknown[] }, field: string): T {
  const payload = result.data?.[field];
  if (!payload || !String(payload.__typename).endsWith('Success')) {
    throw new Error(`${field} failed: ${JSON.stringify(result, null, 2)}`);
  }
  return payload.data as T;
}

export async function createProduct(t: TestServer, productKey: string): Promise<string> {
  const result = await t.gql(
    `mutation($input: CreateProductInput!) { createProduct(input: $input) { __typename ... on MutationCreateProductSuccess { data { id } } ... on Error { message } } }`,
    { input: { productKey, name: `Product ${productKey}` } },
  );
  return expectSuccess<{ id: string }>(result, 'createProduct').id;
}

export interface DeviceSpec {
  deviceKey: string;
  firmwareVersion?: string;
  tags?: { key: string; value: string }[];
}

export async function registerDevices(t: TestServer, productKey: string, devices: DeviceSpec[]): Promise<Record<string, string>> {
  const secrets: Record<string, string> = {};
  for (let i = 0; i < devices.length; i += 5000) {
    const result = await t.gql(
      `mutation($input: RegisterDevicesInput!) { registerDevices(input: $input) { __typename
         ... on MutationRegisterDevicesSuccess { data { secret device { deviceKey } } } ... on Error { message } } }`,
      { input: { productKey, devices: devices.slice(i, i + 5000) } },
    );
    for (const r of expectSuccess<{ secret: string; device: { deviceKey: string } }[]>(result, 'registerDevices')) {
      secrets[r.device.deviceKey] = r.secret;
    }
  }
  return secrets;
}

/** A product with `count` devices `${prefix}-0001`…, versions and tags chosen by `spec(i)`. */
export async function seedProduct(
  t: TestServer,
  productKey: string,
  count: number,
  spec: (i: number) => Omit<DeviceSpec, 'deviceKey'> = () => ({ firmwareVersion: '1.0.0' }),
): Promise<SeededProduct> {
  await createProduct(t, productKey);
  const devices = Array.from({ length: count }, (_, i) => ({ deviceKey: `dev-${String(i + 1).padStart(4, '0')}`, ...spec(i) }));
  const secrets = await registerDevices(t, productKey, devices);
  return { productKey, deviceKeys: devices.map((d) => d.deviceKey), secrets };
}

export interface UploadOptions {
  productKey: string;
  name: string;
  version: string;
  content?: Buffer;
  signMethod?: 'MD5' | 'SHA256';
  sign?: string;
  requireVerification?: boolean;
  minSuccessForVerified?: number;
}

/** uploadFirmware through the GraphQL multipart request spec, as a browser would send it. */
export async function uploadFirmwareRaw(
  t: TestServer,
  options: UploadOptions,
  selection = '__typename ... on MutationUploadFirmwareSuccess { data { id name version sign size signMethod } } ... on Error { message code }',
) {
  const { content = randomBytes(4096), ...input } = options;
  const form = new FormData();
  form.append(
    'operations',
    JSON.stringify({
      query: `mutation($input: UploadFirmwareInput!) { uploadFirmware(input: $input) { ${selection} } }`,
      variables: { input: { ...input, file: null } },
    }),
  );
  form.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
  form.append('0', new Blob([new Uint8Array(content)]), `${options.name}.bin`);
  const response = await fetch(t.server.graphqlUrl, {
    method: 'POST',
    body: form,
    headers: { 'x-graphql-yoga-csrf': '1', ...t.defaultHeaders?.() },
  });
  return (await response.json()) as { data?: any; errors?: any[] };
}

export async function uploadFirmware(t: TestServer, options: UploadOptions): Promise<{ id: string; version: string; sign: string }> {
  return expectSuccess(await uploadFirmwareRaw(t, options), 'uploadFirmware');
}

export function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

export async function createUpgradeJob(t: TestServer, input: Record<string, unknown>): Promise<string> {
  const result = await t.gql(
    `mutation($input: CreateUpgradeJobInput!) { createUpgradeJob(input: $input) { __typename ... on MutationCreateUpgradeJobSuccess { data { id } } ... on Error { message } } }`,
    { input: { name: 'Upgrade', ...input } },
  );
  return expectSuccess<{ id: string }>(result, 'createUpgradeJob').id;
}

export async function createVerificationJob(t: TestServer, input: Record<string, unknown>): Promise<string> {
  const result = await t.gql(
    `mutation($input: CreateVerificationJobInput!) { createVerificationJob(input: $input) { __typename ... on MutationCreateVerificationJobSuccess { data { id } } ... on Error { message } } }`,
    { input: { name: 'Verify', ...input } },
  );
  return expectSuccess<{ id: string }>(result, 'createVerificationJob').id;
}

/** The database id inside a global ID. */
export function rawId(globalId: string): string {
  return Buffer.from(globalId, 'base64').toString().split(':').slice(1).join(':');
}

export type TaskState =
  | { status: 'TO_BE_PUSHED' }
  | { status: 'PUSHED' }
  | { status: 'IN_PROGRESS'; progress?: number }
  | { status: 'SUCCEEDED' }
  | { status: 'FAILED'; reason: string; failedAt?: Date; currentVersion?: string };

/**
 * Puts tasks into a state as the device's reports would have left them (used only where the test
 * is about what the API does with such tasks, not about how they got there).
 */
export async function setTaskStates(t: TestServer, jobGlobalId: string, states: Record<string, TaskState>): Promise<void> {
  const jobId = rawId(jobGlobalId);
  for (const [deviceKey, state] of Object.entries(states)) {
    const failed = state.status === 'FAILED' ? state : null;
    const rows = await t.database.handle.rawQuery(
      `update job_tasks set status = $3::upgrade_status,
         progress = $4, failure_reason = $5::failure_reason, failure_detail = $6,
         pushed_at = case when $3 = 'TO_BE_PUSHED' then null else now() - interval '10 minutes' end,
         timeout_at = case when $3 in ('PUSHED', 'IN_PROGRESS') then now() + interval '2 hours' end,
         started_at = case when $3 in ('IN_PROGRESS', 'SUCCEEDED') then now() - interval '9 minutes' end,
         failed_at = $7::timestamptz, finished_at = case when $3 in ('SUCCEEDED', 'FAILED') then coalesce($7::timestamptz, now()) end,
         current_version = coalesce($8, current_version),
         updated_at = now()
       where job_id = $1 and device_key = $2 returning id`,
      [
        jobId,
        deviceKey,
        state.status,
        state.status === 'IN_PROGRESS' ? (state.progress ?? 50) : state.status === 'SUCCEEDED' ? 100 : 0,
        failed?.reason ?? null,
        failed ? `test: ${failed.reason}` : null,
        failed ? (failed.failedAt ?? new Date()).toISOString() : null,
        failed?.currentVersion ?? null,
      ],
    );
    if (rows.length !== 1) throw new Error(`no task for ${deviceKey} in job ${jobId}`);
  }
}

export const JOB_FIELDS = `id name type status progress deviceCount editable editableFields notEditableReason timeoutMinutes maxConcurrency srcVersions
  policy pushRatePerMinute statusReason
  scope { allDevices deviceKeys srcVersions tags { key value } }
  retry { count intervalMinutes }
  schedule { startAt endAt dailyWindowStart dailyWindowEnd timezone }
  abortThreshold { percent minFinished }
  statusCounts { toBePushed pushed inProgress succeeded failed }`;

/** The job's settings, counts and every device's task, to compare before and after a refused change. */
export async function jobSnapshot(t: TestServer, jobId: string) {
  const result = await t.gql(
    `query($id: ID!) { job(id: $id) { ${JOB_FIELDS} edits { editedAt } devices(first: 500) { totalCount nodes { deviceKey status progress failureReason attempt updatedAt } } } }`,
    { id: jobId },
  );
  if (!result.data?.job) throw new Error(`job ${jobId}: ${JSON.stringify(result)}`);
  return result.data.job;
}

export interface DeviceRow {
  deviceKey: string;
  status: string;
  failureReason: string | null;
  waitingReason?: string | null;
  currentVersion?: string | null;
  attempt?: number;
}

/** Every task of a job (all tabs), keyed by device key. */
export async function jobTasksByKey(t: TestServer, jobId: string): Promise<Record<string, DeviceRow>> {
  const result = await t.gql(
    `query($id: ID!) { job(id: $id) { devices(first: 500) { nodes { deviceKey status failureReason waitingReason currentVersion attempt } } } }`,
    { id: jobId },
  );
  return Object.fromEntries(result.data.job.devices.nodes.map((d: DeviceRow) => [d.deviceKey, d]));
}
