/** The database's types, in a leaf module so that what client.ts builds on (handle-state.ts) can name them. */
import type { PgAsyncDatabase, PgAsyncTransaction, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type { relations } from './relations.js';

export type Relations = typeof relations;
export type Database = PgAsyncDatabase<PgQueryResultHKT, Relations>;
export type Transaction = PgAsyncTransaction<PgQueryResultHKT, Relations>;
/** A database handle or an open transaction: domain functions accept either. */
export type Executor = Database | Transaction;
