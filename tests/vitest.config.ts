import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * One run for the whole repository: cross-package tests under tests/ and unit tests next to the
 * server's code. Every test file starts its own server on port 0 with its own database.
 */
/**
 * Resolve packages as Node does. Vite would otherwise pick graphql's "development" build for the
 * source it transforms while Node loads the default build for Pothos and yoga: two graphql
 * instances, and graphql refuses to mix them.
 */
const nodeConditions = ['module-sync', 'node', 'import', 'default'];

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  resolve: { conditions: nodeConditions },
  ssr: { resolve: { conditions: nodeConditions, externalConditions: nodeConditions } },
  test: {
    include: ['tests/**/*.test.ts', 'server/src/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
