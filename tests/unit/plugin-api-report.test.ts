/**
 * The public plugin API (`loom-agents/plugin`) cannot change silently: the
 * built declarations must equal the committed API Extractor report, which
 * records PLUGIN_API_VERSION, and `npm run api:report` rewrites the report
 * only after the version moved as semver asks (see scripts/api-report.mjs).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PLUGIN_API_VERSION } from '../../src/plugins/api.js';
// @ts-expect-error: a plain .mjs script of the repository, without type declarations
import { builtReport, bumpNeeded, declarations, versionOf } from '../../scripts/api-report.mjs';
import { ROOT } from '../support/loom-cli.js';

const REPORT = join(ROOT, 'src', 'plugins', 'plugin-api.api.md');

describe('the plugin API report', () => {
  it('matches the built API (else: move PLUGIN_API_VERSION, then npm run api:report)', () => {
    const built = builtReport();
    if (built === null) throw new Error('dist is not built (the global setup builds it)');
    // the whole text, so that a failure shows the diff
    expect(built.text, 'the plugin API differs from src/plugins/plugin-api.api.md: move PLUGIN_API_VERSION (minor: additions; major: removals and changes), `npm run build`, `npm run api:report`').toBe(
      readFileSync(REPORT, 'utf8'),
    );
    expect(built.changed).toBe(false);
    expect(built.messages.filter((m: string) => !/API signature|report file/i.test(m))).toEqual([]);
  });

  it('records the current PLUGIN_API_VERSION, and no forgotten export (a type the entry reaches but does not name)', () => {
    const report = readFileSync(REPORT, 'utf8');
    expect(versionOf(report).join('.')).toBe(PLUGIN_API_VERSION);
    expect(report).not.toContain('ae-forgotten-export');
    expect(report).toContain('export function definePlugin(def: LoomPlugin): DefinedPlugin;');
  });
});

describe('what a change of the report asks of the version', () => {
  const report = (version: string, ...lines: string[]) =>
    ['## API Report File for "loom-agents"', '```ts', '', '// @public', `export const PLUGIN_API_VERSION = "${version}";`, '', ...lines, '', '```', ''].join('\n');
  const base = ['export interface Notifier {', '    readonly name: string;', '}'];

  it('reads declarations only: comments, blank lines and the fences are not the API', () => {
    expect(declarations(report('1.5.0', '// (undocumented)', ...base))).toEqual(['export const PLUGIN_API_VERSION = "1.5.0";', ...base]);
  });

  it.each<[string, string, string[], string, boolean]>([
    ['documentation only', '1.5.0', ['// now documented', ...base], 'none', true],
    ['an addition without a bump', '1.5.0', [...base, 'export type EventType = "task.done";'], 'minor', false],
    ['an addition with a patch bump', '1.5.1', [...base, 'export type EventType = "task.done";'], 'minor', false],
    ['an addition with a minor bump', '1.6.0', [...base, 'export type EventType = "task.done";'], 'minor', true],
    ['an addition with a major bump', '2.0.0', [...base, 'export type EventType = "task.done";'], 'minor', true],
    ['a field retyped, with a minor bump', '1.6.0', ['export interface Notifier {', '    readonly name: number;', '}'], 'major', false],
    ['a field removed, with a major bump', '2.0.0', ['export interface Notifier {', '}'], 'major', true],
  ])('%s', (_what, version, lines, needed, done) => {
    const r = bumpNeeded(report('1.5.0', ...base), report(version, ...lines));
    expect(r.needed).toBe(needed);
    expect(r.done).toBe(done);
  });
});
