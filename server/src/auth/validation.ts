/** Input rules shared by the identity functions. */
import { z } from 'zod';
import { PERMISSIONS } from '../db/schema.js';

/** Lower-case sign-in names; `.`, `_`, `-` and `@` allow e-mail addresses as usernames. */
export const usernameSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9._@-]{1,63}$/, 'must be 2-64 characters of letters, digits, ".", "_", "-" and "@", starting with a letter or digit');

export const displayNameSchema = z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters');

/** A set of permissions: duplicates collapse, the order is the enum's. */
export const permissionSetSchema = z.array(z.enum(PERMISSIONS)).transform((list) => PERMISSIONS.filter((p) => list.includes(p)));

export const nameSchema = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
