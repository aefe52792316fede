/**
 * The caller's identity. Until the auth API lands every request acts as the development user with
 * every permission, so this stands in for `query me`.
 */
import { graphql } from './api/graphql';

export interface Me {
  user: { id: string; username: string; displayName: string };
  organisationUnit: { id: string; name: string };
  permissions: readonly string[];
}

const ALL = ['FIRMWARE_READ', 'FIRMWARE_WRITE', 'FIRMWARE_DELETE', 'OTA_READ', 'OTA_CREATE', 'OTA_CONTROL', 'DEVICE_READ', 'DEVICE_WRITE', 'OU_ADMIN'];

const Probe = graphql(`query MeProbe { __typename }`);
export const MeQuery = Probe as unknown as import('@urql/core').TypedDocumentNode<{ me: Me | null }, Record<string, never>>;
export const DEV_ME: Me = { user: { id: 'dev', username: 'dev', displayName: 'Developer' }, organisationUnit: { id: 'dev', name: 'Demo' }, permissions: ALL };
export const AUTH_AVAILABLE = false;
