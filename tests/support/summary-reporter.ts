import type { Reporter, TestModule } from 'vitest/node';

/** Files listed by time at the end of a run of many (where CI time goes). */
const SLOWEST = 12;

/**
 * Ends the run with the slowest test files (a run of more than 20) and one
 * plain line, `N passed, N failed[, N skipped]`, that any CI log reader
 * understands, after vitest's own summary.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
      if (m.state() === 'failed' && [...m.children.allTests()].length === 0) failed++; // a file that failed to load
    }
    if (modules.length > 20) {
      const timed = modules.map((m) => ({ file: m.moduleId.replace(`${process.cwd()}/`, ''), ms: m.diagnostic().duration })).sort((a, b) => b.ms - a.ms);
      const total = timed.reduce((n, t) => n + t.ms, 0);
      process.stdout.write(`\nslowest files (of ${timed.length}, ${Math.round(total / 1000)} s of test time in all):\n`);
      for (const t of timed.slice(0, SLOWEST)) process.stdout.write(`  ${(t.ms / 1000).toFixed(1).padStart(6)} s  ${t.file}\n`);
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}\n`);
  }
}
