/** Small SQL helpers shared by domain queries. */
import type { SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';

/** Escapes LIKE wildcards so that user text matches literally. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export type KeyMatch = 'EXACT' | 'PREFIX' | 'CONTAINS';

/** A device-key search: exact, prefix (served by the btree on the "C"-collated key) or substring. */
export function keyMatches(column: SQL | SQL.Aliased | unknown, text: string, match: KeyMatch): SQL {
  if (match === 'EXACT') return sql`${column} = ${text}`;
  const pattern = match === 'PREFIX' ? `${escapeLike(text)}%` : `%${escapeLike(text)}%`;
  return sql`${column} like ${pattern}`;
}
