/**
 * Data for the scenarios. Products, firmware and jobs go through Updraft's own domain functions, as
 * an operator's calls would; devices (up to a million) and the spread of task states a running
 * rollout would have are written in bulk SQL, as the EXPLAIN test does: the scenarios measure
 * reading, ingesting, pushing and watching, not registering devices one request at a time.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { Readable } from 'node:stream';
import { uploadFirmware } from '@updraft/server/domain/firmware.js';
import { createUpgradeJob, type CreateUpgradeJobInput } from '@updraft/server/domain/jobs/create.js';
import { createProduct } from '@updraft/server/domain/products.js';
import { hashSecret } from '@updraft/server/domain/secrets.js';
import { isTransient } from '@updraft/server/db/errors.js';
import { inTransaction } from '@updraft/server/domain/transaction.js';
import type { RunningServer } from '@updraft/server/app.js';

/** Every bench device shares this secret (each still authenticates against its own stored hash). */
export const DEVICE_SECRET = 'bench-device-secret-0123456789abcdef';

export interface Fleet {
  productKey: string;
  productId: string;
  prefix: string;
  count: number;
}

export const deviceKey = (prefix: string, i: number) => `${prefix}-${String(i).padStart(7, '0')}`;

/** A product with `count` devices `{prefix}-0000000…` on `version` (a quarter on `altVersion`, if given). */
export async function createFleet(
  server: RunningServer,
  options: { productKey: string; count: number; prefix?: string; version?: string; altVersion?: string },
): Promise<Fleet> {
  const { services, adminCaller } = server;
  const product = await createProduct(services.db, adminCaller, { productKey: options.productKey, name: options.productKey, description: '' });
  const prefix = options.prefix ?? 'dev';
  const version = options.version ?? '1.0.0';
  const chunk = 100_000;
  for (let from = 0; from < options.count; from += chunk) {
    await services.database.rawQuery(
      `insert into devices (ou_id, product_id, device_key, secret_hash, firmware_version)
       select $1, $2, $3 || '-' || lpad(i::text, 7, '0'), $4,
              case when $6::text is not null and i % 4 = 3 then $6 else $5 end
       from generate_series($7::int, $8::int) i`,
      [adminCaller.ouId, product.id, prefix, hashSecret(DEVICE_SECRET), version, options.altVersion ?? null, from, Math.min(options.count, from + chunk) - 1],
    );
  }
  return { productKey: options.productKey, productId: product.id, prefix, count: options.count };
}

export async function addFirmware(server: RunningServer, fleet: Fleet, version: string): Promise<{ id: string; version: string }> {
  const { services, adminCaller } = server;
  const firmware = await uploadFirmware(services, adminCaller, {
    productKey: fleet.productKey,
    name: `fw ${version}`,
    version,
    signMethod: 'SHA256',
    description: '',
    requireVerification: false,
    file: { name: 'fw.bin', stream: Readable.from([randomBytes(2048)]) },
  });
  return { id: firmware.id, version: firmware.version };
}

export async function createJob(
  server: RunningServer,
  firmwareId: string,
  input: Partial<Omit<CreateUpgradeJobInput, 'firmwareId'>> = {},
): Promise<{ id: string; ouId: string; productId: string }> {
  const { services, adminCaller } = server;
  return inTransaction(services, (scope) =>
    createUpgradeJob(scope, adminCaller, { name: 'bench rollout', scope: { allDevices: true }, maxConcurrency: 100_000, ...input, firmwareId }),
  );
}

export const FAILURE_MIX = ['DOWNLOAD_FAILED', 'VERIFICATION_FAILED', 'WRITE_FAILED', 'TIMEOUT', 'UNDEFINED', 'DEVICE_IGNORED'] as const;
/** Failures are spread over these ten hours. */
export const FAILED_FROM = new Date('2026-06-01T00:00:00Z');

/**
 * A rollout in full swing, as the EXPLAIN test pictures it: 40% succeeded, 20% failed (six reasons,
 * over ten hours, on the devices' two versions), 1% pushed, 1% in progress, the rest waiting.
 */
export async function shapeRollout(server: RunningServer, jobId: string): Promise<void> {
  await server.services.database.rawQuery(
    `update job_tasks set
       status = (case when id % 100 < 40 then 'SUCCEEDED' when id % 100 < 60 then 'FAILED'
                      when id % 100 = 60 then 'PUSHED' when id % 100 = 61 then 'IN_PROGRESS' else 'TO_BE_PUSHED' end)::upgrade_status,
       progress = case when id % 100 < 40 then 100 when id % 100 = 61 then 40 else 0 end,
       failure_reason = (case when id % 100 between 40 and 59 then
         (array['${FAILURE_MIX.join("','")}'])[1 + id % 6] end)::failure_reason,
       failure_detail = case when id % 100 between 40 and 59 then 'bench failure ' || (id % 7) end,
       failed_at = case when id % 100 between 40 and 59 then $2::timestamptz + (id % 600) * interval '1 minute' end,
       finished_at = case when id % 100 < 60 then $2::timestamptz + (id % 600) * interval '1 minute' end,
       pushed_at = case when id % 100 <= 61 then $2::timestamptz + (id % 600) * interval '1 minute' - interval '5 minutes' end,
       updated_at = now()
     where job_id = $1`,
    [jobId, FAILED_FROM.toISOString()],
  );
  await server.services.database.rawQuery('analyze job_tasks');
}

/**
 * Every task of the job Pushed, progress 0, as if the engine had just pushed them all (setup for
 * the scenarios that measure reports, not pushes).
 */
export async function putInFlight(server: RunningServer, jobId: string): Promise<void> {
  // Rows first, then the job's change-order lock (which the row trigger takes), as every writer
  // of the server does; a deadlock with one of them is still possible and is simply retried.
  for (let attempt = 1; ; attempt++) {
    try {
      await server.services.db.transaction(async (tx) => {
        await tx.execute(sql`select id from job_tasks where job_id = ${jobId} order by id for update`);
        await tx.execute(sql`
          update job_tasks set status = 'PUSHED', progress = 0, push_message_id = 'bench-' || id, pushed_at = now(),
            timeout_at = now() + interval '2 hours', started_at = null, finished_at = null, failed_at = null,
            failure_reason = null, failure_detail = null, waiting_reason = null,
            updated_at = now()
          where job_id = ${jobId}`);
      });
      return;
    } catch (error) {
      if (attempt >= 10 || !isTransient(error)) throw error;
    }
  }
}
