#!/usr/bin/env node
/**
 * The public plugin API's report: `npm run api:report` (after `npm run build`).
 *
 * API Extractor writes src/plugins/plugin-api.api.md from the built
 * dist/src/plugins/api.d.ts: every declaration `loom-agents/plugin` exports,
 * with the types they reach. tests/unit/plugin-api-report.test.ts fails when
 * the build differs from the committed report. This script rewrites the
 * report, but only when PLUGIN_API_VERSION has moved as semver asks:
 *   - declarations only added: at least a minor bump;
 *   - a declaration line removed or changed: a major bump;
 *   - nothing but comments changed: no bump needed.
 * Exit 0: the report is current (written, or already so); 1: the version must
 * move first (nothing written); 2: API Extractor failed.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const REPORT = join(ROOT, 'src', 'plugins', 'plugin-api.api.md');

/** The report's declaration lines: comments and blank lines left out, so documentation alone is no change. */
export function declarations(report) {
  return report
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '' && !l.trim().startsWith('//') && !l.startsWith('```') && !l.startsWith('#') && !l.startsWith('>'));
}

/** The PLUGIN_API_VERSION a report records. */
export function versionOf(report) {
  const m = /export const PLUGIN_API_VERSION = "(\d+)\.(\d+)\.(\d+)"/.exec(report);
  if (m === null) throw new Error('the report has no PLUGIN_API_VERSION line');
  return m.slice(1).map(Number);
}

/**
 * What the version must do between two reports: 'none', 'minor' or 'major',
 * and whether `next` does it. The version line itself is not a declaration
 * change.
 */
export function bumpNeeded(previous, next) {
  const strip = (r) => declarations(r).filter((l) => !l.startsWith('export const PLUGIN_API_VERSION'));
  const before = strip(previous);
  const after = strip(next);
  const afterSet = new Set(after);
  const beforeSet = new Set(before);
  const removed = before.filter((l) => !afterSet.has(l));
  const added = after.filter((l) => !beforeSet.has(l));
  const needed = removed.length > 0 ? 'major' : added.length > 0 ? 'minor' : 'none';
  const [pa, pb] = versionOf(previous);
  const [na, nb] = versionOf(next);
  const done = needed === 'none' || (needed === 'major' ? na > pa : na > pa || (na === pa && nb > pb));
  return { needed, done, removed, added };
}

/**
 * The report of the built API, as API Extractor writes it (to its temp folder only: `localBuild: false`),
 * with the messages it gave; null when the build is missing.
 */
export function builtReport() {
  const config = ExtractorConfig.loadFileAndPrepare(join(ROOT, 'api-extractor.json'));
  if (!existsSync(config.mainEntryPointFilePath)) return null;
  const messages = [];
  const result = Extractor.invoke(config, {
    localBuild: false,
    messageCallback: (m) => {
      if (m.logLevel === 'error' || m.logLevel === 'warning') messages.push(m.text);
      m.logLevel = 'none';
    },
  });
  return { text: readFileSync(join(config.reportTempFolder, config.reportConfigs[0].fileName), 'utf8'), changed: result.apiReportChanged, succeeded: result.succeeded, messages };
}

function run() {
  const built = builtReport();
  if (built === null) {
    process.stderr.write('api:report: dist/src/plugins/api.d.ts is missing: run `npm run build` first\n');
    return 2;
  }
  if (!built.succeeded && !built.changed) {
    process.stderr.write(`api:report: API Extractor failed: ${built.messages.join('; ')}\n`);
    return 2;
  }
  const next = built.text;
  const previous = existsSync(REPORT) ? readFileSync(REPORT, 'utf8') : null;
  if (previous === next) {
    process.stdout.write('api:report: src/plugins/plugin-api.api.md is current\n');
    return 0;
  }
  if (previous !== null) {
    const { needed, done, removed, added } = bumpNeeded(previous, next);
    if (!done) {
      const [a, b, c] = versionOf(previous);
      const to = needed === 'major' ? `${a + 1}.0.0` : `${a}.${b + 1}.0`;
      process.stderr.write(
        `api:report: the plugin API changed (${removed.length} declaration line(s) removed or changed, ${added.length} added): ` +
          `${needed === 'major' ? 'that can break plugins, a major' : 'an addition, a minor'} version is needed. ` +
          `Set PLUGIN_API_VERSION in src/plugins/api-version.ts from ${a}.${b}.${c} to ${to} (and say what changed in api.ts and the README), build, and run this again. Nothing was written.\n`,
      );
      for (const l of removed.slice(0, 10)) process.stderr.write(`  - ${l}\n`);
      for (const l of added.slice(0, 10)) process.stderr.write(`  + ${l}\n`);
      return 1;
    }
  }
  writeFileSync(REPORT, next);
  process.stdout.write('api:report: src/plugins/plugin-api.api.md updated: commit it with the version change\n');
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exit(run());
