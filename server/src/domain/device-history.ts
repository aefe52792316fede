/**
 * One device across jobs: the device itself (found by product and device key, the way operators
 * name it) and its upgrade history, newest job first, one entry per job with the job's latest
 * attempt of that device. Scoped to the caller's unit.
 *
 * The history walks the product's jobs and looks the device up in each through the unique
 * (job_id, device_key) index, so it needs no index of its own on job_tasks (whose writes the device
 * reports pay for): a product with a thousand jobs costs a thousand index probes.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { devices, type FailureReason, type JobType, products, type TaskStatus } from '../db/schema.js';
import { type Caller, requirePermission } from './caller.js';
import { InvalidInputError } from './errors.js';
import { isUuid } from '../db/keys.js';
import { queryRows } from '../db/sql.js';

export type DeviceRow = typeof devices.$inferSelect;

/** The caller's device with this product and device key, or null (unknown and foreign alike). */
export async function findDevice(db: Executor, caller: Caller, productKey: string, deviceKey: string): Promise<DeviceRow | null> {
  if (!caller.permissions.has('DEVICE_READ')) requirePermission(caller, 'OTA_READ');
  const [row] = await db
    .select({ device: devices })
    .from(devices)
    .innerJoin(products, eq(products.id, devices.productId))
    .where(and(eq(products.productKey, productKey), eq(devices.deviceKey, deviceKey), eq(devices.ouId, caller.ouId)));
  return row?.device ?? null;
}

export interface DeviceUpgrade {
  /** The task's id (one device in one job). */
  taskId: number;
  jobId: string;
  jobName: string;
  jobType: JobType;
  jobCreatedAt: Date;
  firmwareName: string;
  toVersion: string;
  attempt: number;
  fromVersion: string | null;
  currentVersion: string | null;
  status: TaskStatus;
  progress: number;
  failureReason: FailureReason | null;
  failureDetail: string | null;
  pushedAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  failedAt: Date | null;
  updatedAt: Date;
}

export interface HistoryPage {
  items: DeviceUpgrade[];
  hasNextPage: boolean;
}

export const MAX_HISTORY_PAGE = 200;

/** Cursor of an entry: its job's creation time and id (the order of the history). */
export function historyCursor(entry: Pick<DeviceUpgrade, 'jobCreatedAt' | 'jobId'>): string {
  return `${entry.jobCreatedAt.toISOString()}|${entry.jobId}`;
}

function parseCursor(cursor: string): { at: string; id: string } {
  const [at, id] = cursor.split('|');
  if (!at || !id || Number.isNaN(Date.parse(at)) || !isUuid(id)) {
    throw InvalidInputError.single(['after'], 'must be a cursor of this history');
  }
  return { at, id };
}

/** A page of the device's upgrades, newest job first. */
export async function deviceUpgradeHistory(
  db: Executor,
  caller: Caller,
  device: Pick<DeviceRow, 'ouId' | 'productId' | 'deviceKey'>,
  page: { first: number; after?: string | null },
): Promise<HistoryPage> {
  requirePermission(caller, 'OTA_READ');
  if (device.ouId !== caller.ouId) return { items: [], hasNextPage: false };
  const limit = Math.max(0, Math.min(page.first, MAX_HISTORY_PAGE));
  const after = page.after ? parseCursor(page.after) : null;
  const rows = await queryRows<{
    task_id: string | number;
    job_id: string;
    job_name: string;
    job_type: JobType;
    job_created_at: string | Date;
    firmware_name: string;
    to_version: string;
    attempt: number;
    src_version: string | null;
    current_version: string | null;
    status: TaskStatus;
    progress: number;
    failure_reason: FailureReason | null;
    failure_detail: string | null;
    pushed_at: string | Date | null;
    started_at: string | Date | null;
    finished_at: string | Date | null;
    failed_at: string | Date | null;
    updated_at: string | Date;
  }>(
    db,
    sql`select t.id as task_id, j.id as job_id, j.name as job_name, j.type as job_type, j.created_at as job_created_at,
               f.name as firmware_name, f.version as to_version, t.attempt, t.src_version, t.current_version, t.status,
               t.progress, t.failure_reason, t.failure_detail, t.pushed_at, t.started_at, t.finished_at, t.failed_at, t.updated_at
        from ota_jobs j
        join job_tasks t on t.job_id = j.id and t.device_key = ${device.deviceKey}
        join firmwares f on f.id = j.firmware_id
        where j.product_id = ${device.productId} and j.ou_id = ${caller.ouId}
          ${after ? sql`and (j.created_at, j.id) < (${after.at}::timestamptz, ${after.id}::uuid)` : sql``}
        order by j.created_at desc, j.id desc
        limit ${limit + 1}`,
  );
  const date = (v: string | Date | null) => (v === null ? null : new Date(v));
  const items = rows.slice(0, limit).map((r) => ({
    taskId: Number(r.task_id),
    jobId: r.job_id,
    jobName: r.job_name,
    jobType: r.job_type,
    jobCreatedAt: new Date(r.job_created_at),
    firmwareName: r.firmware_name,
    toVersion: r.to_version,
    attempt: r.attempt,
    fromVersion: r.src_version,
    currentVersion: r.current_version,
    status: r.status,
    progress: r.progress,
    failureReason: r.failure_reason,
    failureDetail: r.failure_detail,
    pushedAt: date(r.pushed_at),
    startedAt: date(r.started_at),
    finishedAt: date(r.finished_at),
    failedAt: date(r.failed_at),
    updatedAt: new Date(r.updated_at),
  }));
  return { items, hasNextPage: rows.length > limit };
}

/** How long an attempt took: from its push to its end (or to now while it runs); null before a push. */
export function attemptDurationSeconds(entry: Pick<DeviceUpgrade, 'pushedAt' | 'finishedAt'>, now = new Date()): number | null {
  if (!entry.pushedAt) return null;
  return Math.max(0, Math.round(((entry.finishedAt ?? now).getTime() - entry.pushedAt.getTime()) / 1000));
}
