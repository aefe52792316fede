/**
 * The demo's read-only operator: user `viewer` with a role that may read firmware, jobs and
 * devices and change nothing, so that a demo shows what a user without a permission is told.
 * Its password is DEMO_VIEWER_PASSWORD, or a documented default that is only ever used by the demo seed.
 */
import { eq } from 'drizzle-orm';
import { users, type Permission } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { inTransaction } from '../domain/transaction.js';
import type { Database } from '../db/client.js';
import type { EventBus } from '../events/bus.js';
import { createRole } from './roles.js';
import { createUser } from './users.js';

export const DEMO_VIEWER_USERNAME = 'viewer';
/** Not a secret: printed at start and written in the README, for the demo only. */
export const DEFAULT_DEMO_VIEWER_PASSWORD = 'updraft-viewer-demo';
export const VIEWER_PERMISSIONS: Permission[] = ['FIRMWARE_READ', 'OTA_READ', 'DEVICE_READ'];

/** Creates the viewer once; returns its credentials to print, or null when it already existed. */
export async function ensureDemoViewer(
  services: { db: Database; events: EventBus },
  admin: Caller,
  password = DEFAULT_DEMO_VIEWER_PASSWORD,
): Promise<{ username: string; password: string } | null> {
  const [existing] = await services.db.select({ id: users.id }).from(users).where(eq(users.username, DEMO_VIEWER_USERNAME));
  if (existing) return null;
  await inTransaction(services, async (scope) => {
    const role = await createRole(scope, admin, {
      name: 'Viewer',
      description: 'Reads firmware, OTA jobs and devices; changes nothing.',
      permissions: VIEWER_PERMISSIONS,
    });
    await createUser(scope, admin, { username: DEMO_VIEWER_USERNAME, displayName: 'Demo viewer', password, roleIds: [role.id] });
  });
  return { username: DEMO_VIEWER_USERNAME, password };
}
