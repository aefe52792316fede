/** Writes the GraphQL schema, sorted, to /schema.graphql (a test fails when it is stale). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printSchema } from 'graphql';
import { sortedSchema } from '../src/schema/index.js';

const target = fileURLToPath(new URL('../../schema.graphql', import.meta.url));
writeFileSync(target, `${printSchema(sortedSchema)}\n`);
console.log(`wrote ${target}`);
