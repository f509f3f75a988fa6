import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** Test files run at once: LOOM_TEST_WORKERS, else 3 (a third file keeps both cores busy while two wait on child processes and fsyncs). */
function testWorkers(): number {
  const n = Number(process.env.LOOM_TEST_WORKERS ?? 3);
  if (!Number.isInteger(n) || n < 1) throw new Error(`LOOM_TEST_WORKERS must be a whole number of at least 1, got ${process.env.LOOM_TEST_WORKERS}`);
  return n;
}

export default defineConfig({
  // Legacy (experimental) decorators for inversify's @injectable/@inject: vitest 4
  // transforms TS with oxc, which only honours tsconfig's experimentalDecorators
  // for files a tsconfig includes, so say it here too.
  oxc: { decorator: { legacy: true } },
  // What package.json's exports map gives a plugin, pointed at the source: the
  // example plugin (examples/loom-plugin-example) imports `loom-agents/plugin`.
  // `#inversify`, `#mcp-sdk` and `#mcp-sdk-http` are, at run time, the bundles scripts/bundle-vendor.mjs makes of installed
  // packages (package.json "imports"); here they are those packages.
  resolve: {
    alias: {
      'loom-agents/plugin': fileURLToPath(new URL('./src/plugins/api.ts', import.meta.url)),
      '#inversify': 'inversify',
      '#mcp-sdk': fileURLToPath(new URL('./scripts/vendor/mcp-sdk.js', import.meta.url)),
      '#mcp-sdk-http': fileURLToPath(new URL('./scripts/vendor/mcp-sdk-http.js', import.meta.url)),
    },
  },
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/support/global-build.ts'],
    reporters: ['default', './tests/support/summary-reporter.ts'],
    // clipanion's directory imports (clipanion/lib/platform) fail under vite's
    // externalised loader; inlining it fixes that. Built output is unaffected.
    server: { deps: { inline: ['clipanion'] } },
    // Each test file runs in its own process and gets its own database, so the
    // integration suites stay safe to run in parallel.
    pool: 'forks',
    // vitest's default is one worker per core minus one: a single worker on these 2-core
    // machines, so every file waited for the one before it while the cores sat idle on
    // process starts, fsyncs and child processes. Files are isolated (own database, own Redis
    // prefix, own temp dirs, port 0), so they run side by side; LOOM_TEST_WORKERS overrides.
    maxWorkers: testWorkers(),
    // Generous: the suite must pass on a loaded machine too (load average 10 on 2
    // cores makes each process start and each database open several times slower).
    // Tests that spawn many processes set larger timeouts of their own.
    testTimeout: 120_000,
    hookTimeout: 240_000,
  },
});
