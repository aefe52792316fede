/**
 * The caller of a domain function: who acts, in which organisation unit, with which permissions.
 * Every domain function takes one and scopes its reads and writes to `caller.ouId`.
 */
import type { CredentialKind, Permission } from '../db/schema.js';
import { PermissionDeniedError } from './errors.js';

export interface Caller {
  /** Null for a system actor (the engine, the seed). */
  userId: string | null;
  /** Shown in the job edit history. */
  displayName: string;
  ouId: string;
  permissions: ReadonlySet<Permission>;
  /** Where a request came from, for the audit log; absent for system actors. */
  origin?: CallerOrigin;
}

export interface CallerOrigin {
  clientAddress: string;
  credentialKind: CredentialKind;
  credentialId: string;
  credentialName: string;
}

/** Throws PermissionDeniedError naming the missing permission. */
export function requirePermission(caller: Caller, ...permissions: Permission[]): void {
  for (const permission of permissions) {
    if (!caller.permissions.has(permission)) throw new PermissionDeniedError(permission);
  }
}
