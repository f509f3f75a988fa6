import type { SerializedError } from '@vitest/utils';
import type { Reporter, TestModule } from 'vitest/node';

/** Files listed by time at the end of a run of many (where CI time goes). */
const SLOWEST = 12;
/** Lines of each error's message and stack in the digest of failures. */
const ERROR_LINES = 12;

/** An error's first lines (its message, then the frames outside node_modules), without colour codes, indented. */
function digest(e: SerializedError | undefined): string {
  if (e === undefined) return '';
  const text = [`${e.name ?? 'Error'}: ${e.message}`, ...(e.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l) && !/node_modules|node:internal|<anonymous>/.test(l))]
    .join('\n')
    // eslint-disable-next-line no-control-regex
    .replace(/\u001b\[[0-9;]*m/g, '');
  const lines = text.split('\n');
  const shown = lines.slice(0, ERROR_LINES).map((l) => `      ${l.length > 300 ? `${l.slice(0, 300)}…` : l}`);
  if (lines.length > ERROR_LINES) shown.push(`      … ${lines.length - ERROR_LINES} more lines`);
  const cause = e.cause === undefined ? '' : `\n      caused by:\n${digest(e.cause)}`;
  return `${shown.join('\n')}${cause}`;
}

/**
 * Ends the run with the slowest test files (a run of more than 20), a digest
 * of what failed (each failed test and each unhandled error, with its first
 * lines: a CI log is often read from its tail only) and one plain line,
 * `N passed, N failed[, N skipped]`, that any CI log reader understands, after
 * vitest's own summary.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError> = []): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const failures: string[] = [];
    const file = (m: TestModule) => m.moduleId.replace(`${process.cwd()}/`, '');
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const result = t.result();
        if (result.state === 'passed') passed++;
        else if (result.state === 'failed') {
          failed++;
          failures.push(`  ${file(m)} > ${t.fullName}\n${(result.errors ?? []).map((e) => digest(e)).join('\n')}`);
        } else skipped++;
      }
      const tests = [...m.children.allTests()];
      if (m.state() === 'failed' && !tests.some((t) => t.result().state === 'failed')) {
        // a file that failed to load, or whose hook (beforeAll...) failed and skipped its tests
        failed++;
        const errors = [...m.errors(), ...[...m.children.allSuites()].flatMap((s) => s.errors())];
        failures.push(`  ${file(m)} (${tests.length === 0 ? 'did not load' : 'a hook failed'})\n${errors.map((e) => digest(e)).join('\n')}`);
      }
    }
    if (modules.length > 20) {
      const timed = modules.map((m) => ({ file: file(m), ms: m.diagnostic().duration })).sort((a, b) => b.ms - a.ms);
      const total = timed.reduce((n, t) => n + t.ms, 0);
      process.stdout.write(`\nslowest files (of ${timed.length}, ${Math.round(total / 1000)} s of test time in all):\n`);
      for (const t of timed.slice(0, SLOWEST)) process.stdout.write(`  ${(t.ms / 1000).toFixed(1).padStart(6)} s  ${t.file}\n`);
    }
    if (failures.length > 0) process.stdout.write(`\nfailed tests:\n${failures.join('\n')}\n`);
    if (unhandledErrors.length > 0) {
      process.stdout.write(`\nunhandled errors (${unhandledErrors.length}):\n`);
      for (const e of unhandledErrors) {
        // vitest marks an error with the file and the test that were running when it was thrown
        const where = [e.type, e.VITEST_TEST_PATH, e.VITEST_TEST_NAME]
          .filter((x): x is string => typeof x === 'string')
          .map((x) => x.replace(`${process.cwd()}/`, ''))
          .join(' > ');
        process.stdout.write(`  ${where === '' ? '(no test)' : where}\n${digest(e)}\n`);
      }
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}${unhandledErrors.length > 0 ? `, ${unhandledErrors.length} unhandled errors` : ''}\n`);
  }
}
