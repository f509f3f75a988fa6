import { openPglitePool, type PglitePool } from '../../src/adapters/embedded/pglite-pool.js';
import { pgliteTemplatePath } from '../../src/adapters/embedded/pglite-template.js';

/**
 * A fresh in-memory PGlite for one test file, started from the machine's
 * starting copy as a new embedded store is (pglite-template.ts): initdb runs
 * once per machine instead of once per file.
 */
export function openTestPglite(): Promise<PglitePool> {
  return openPglitePool(undefined, { template: pgliteTemplatePath(process.env) });
}
