/**
 * How a firmware file is signed: the model's enum (db/schema.ts) and the `signMethod` of the device
 * protocol's upgrade command (devices/protocol.ts). Free of drizzle, so that the protocol module,
 * and the simulator built on it, load without the database model.
 */
export const SIGN_METHODS = ['MD5', 'SHA256'] as const;
export type SignMethod = (typeof SIGN_METHODS)[number];
