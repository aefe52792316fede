/**
 * The forms of the model's keys as text (in global IDs, cursors, URLs). Checked before a lookup,
 * so that a malformed id is "not found" (or bad input) rather than a database error.
 */

/** Rows keyed by `uuid().defaultRandom()`: every table but job_tasks. */
export function isUuid(text: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text);
}

/** job_tasks ids (a bigint sequence) as text: positive, at most 16 digits (a safe integer). */
export function isTaskId(text: string): boolean {
  return /^[1-9][0-9]{0,15}$/.test(text);
}
