import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Legacy (experimental) decorators for inversify's @injectable/@inject: vitest 4
  // transforms TS with oxc, which only honours tsconfig's experimentalDecorators
  // for files a tsconfig includes, so say it here too.
  oxc: { decorator: { legacy: true } },
  // What package.json's exports map gives a plugin, pointed at the source: the
  // example plugin (examples/loom-plugin-example) imports `loom-agents/plugin`.
  resolve: { alias: { 'loom-agents/plugin': fileURLToPath(new URL('./src/plugins/api.ts', import.meta.url)) } },
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
    // Generous: the suite must pass on a loaded machine too (load average 10 on 2
    // cores makes each process start and each database open several times slower).
    // Tests that spawn many processes set larger timeouts of their own.
    testTimeout: 120_000,
    hookTimeout: 240_000,
  },
});
