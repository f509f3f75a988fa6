/**
 * `loom plugins new`: the templates make a package Loom loads as it is
 * (manifest, skill and workflow checked with Loom's own code), pinned to the
 * vitest Loom is tested with; bad names and non-empty folders are refused,
 * and the check that guards the templates does catch a broken one.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkScaffold, pluginScaffoldFiles, scaffoldApiRange, SCAFFOLD_VITEST_VERSION, writePluginScaffold } from '../../src/app/plugin-scaffold.js';
import { parsePluginSpec } from '../../src/app/plugin-install.js';
import { PLUGIN_API_VERSION } from '../../src/plugins/api-version.js';
import { codeOf } from '../support/error-code.js';

const ROOT = join(import.meta.dirname, '..', '..');
let parent: string;
beforeEach(() => {
  parent = mkdtempSync(join(tmpdir(), 'loom-scaffold-'));
});
afterEach(() => rmSync(parent, { recursive: true, force: true }));

describe('plugin scaffold templates', () => {
  it('make a package.json ready to publish', () => {
    const pkg = JSON.parse(pluginScaffoldFiles('jira-sync', '0.3.1')['package.json']!);
    expect(pkg).toMatchObject({
      name: 'loom-plugin-jira-sync',
      version: '0.1.0',
      type: 'module',
      keywords: ['loom-plugin'],
      exports: './index.js',
      loom: { apiVersion: scaffoldApiRange(PLUGIN_API_VERSION), id: 'jira-sync', skills: 'skills', workflows: 'workflows', main: 'index.js' },
      peerDependencies: { 'loom-agents': '^0.3.1' },
      scripts: { test: 'vitest run' },
      engines: { node: '>=20.19' },
    });
    // No Loom folder given: the peer alone.
    expect(pkg.devDependencies).toEqual({ vitest: SCAFFOLD_VITEST_VERSION });
    expect(pkg.files).toEqual(expect.arrayContaining(['index.js', 'skills', 'workflows']));
    expect(scaffoldApiRange('1.4.2')).toBe('^1.4.0');
  });

  it('link the running Loom as the dev copy of loom-agents, so npm install finds it', () => {
    const files = pluginScaffoldFiles('jira-sync', '0.3.1', '/home/ann/src/loom');
    const pkg = JSON.parse(files['package.json']!);
    expect(pkg.devDependencies).toEqual({ 'loom-agents': 'file:/home/ann/src/loom', vitest: SCAFFOLD_VITEST_VERSION });
    expect(pkg.peerDependencies).toEqual({ 'loom-agents': '^0.3.1' });
    expect(files['README.md']).toContain('`file:/home/ann/src/loom`');
    expect(files['README.md']).toContain('npm i -D loom-agents@file:PATH');
    expect(pluginScaffoldFiles('jira-sync', '0.3.1')['README.md']).not.toContain('file:');
  });

  it("pin the vitest Loom itself is tested with", () => {
    const installed = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'vitest', 'package.json'), 'utf8')).version;
    expect(SCAFFOLD_VITEST_VERSION).toBe(installed);
  });

  it.each(['demo', 'jira-sync', 'a', `x${'1'.repeat(63)}`])('write a package for %s that loads as a plugin, skill and workflow', (id) => {
    const r = writePluginScaffold(parent, id, '0.1.0');
    expect(r.dir).toBe(join(parent, `loom-plugin-${id}`));
    expect(r.files.sort()).toEqual(['.gitignore', 'README.md', 'index.js', 'package.json', 'skills/hello.md', 'test/plugin.test.js', 'workflows/hello.yaml']);
    expect(checkScaffold(r.dir, id)).toEqual([]);
    const index = readFileSync(join(r.dir, 'index.js'), 'utf8');
    expect(index).toContain("from 'loom-agents/plugin'");
    expect(index).toContain(`definePlugin({ id: '${id}'`);
    expect(index).toContain('additionalProperties: false');
    expect(readFileSync(join(r.dir, 'workflows', 'hello.yaml'), 'utf8')).toContain(`skill: ${id}/hello`);
    expect(readFileSync(join(r.dir, 'README.md'), 'utf8')).toContain(`loom plugins trust ${id}`);
  });

  it('the check catches a broken template (it can fail)', () => {
    const r = writePluginScaffold(parent, 'demo', '0.1.0');
    writeFileSync(join(r.dir, 'skills', 'hello.md'), '---\nname: hello\n---\nno description\n');
    writeFileSync(join(r.dir, 'workflows', 'hello.yaml'), 'name: hello\nsteps: []\n');
    const pkg = JSON.parse(readFileSync(join(r.dir, 'package.json'), 'utf8'));
    writeFileSync(join(r.dir, 'package.json'), JSON.stringify({ ...pkg, loom: { ...pkg.loom, apiVersion: '^99.0.0' } }));
    const problems = checkScaffold(r.dir, 'demo');
    expect(problems.some((p) => p.includes('skills/hello.md'))).toBe(true);
    expect(problems.some((p) => p.includes('workflows/hello.yaml'))).toBe(true);
    expect(problems.some((p) => p.includes('PLUGIN_API_MISMATCH'))).toBe(true);
  });

  it.each(['', 'Demo', '../demo', 'a/b', '-x', 'x\u0000', '1x', 'x_y', 'a'.repeat(65)])('refuse the name %j, writing nothing', (name) => {
    expect(codeOf(() => writePluginScaffold(parent, name, '0.1.0'))).toBe('VALIDATION_FAILED');
    expect(readdirSync(parent)).toEqual([]);
  });

  it('refuse a --dir with a NUL byte', () => {
    expect(codeOf(() => writePluginScaffold(`${parent}\u0000x`, 'demo', '0.1.0'))).toBe('VALIDATION_FAILED');
  });

  it('refuse a folder that exists and is not empty, and fill an empty one', () => {
    mkdirSync(join(parent, 'loom-plugin-demo'));
    writeFileSync(join(parent, 'loom-plugin-demo', 'mine.txt'), 'keep');
    expect(codeOf(() => writePluginScaffold(parent, 'demo', '0.1.0'))).toBe('CONFLICT');
    expect(readdirSync(join(parent, 'loom-plugin-demo'))).toEqual(['mine.txt']);
    mkdirSync(join(parent, 'loom-plugin-empty'));
    expect(checkScaffold(writePluginScaffold(parent, 'empty', '0.1.0').dir, 'empty')).toEqual([]);
  });
});

describe('plugins add SPEC', () => {
  it.each([
    ['loom-plugin-x', { kind: 'npm', spec: 'loom-plugin-x', name: 'loom-plugin-x' }],
    ['loom-plugin-x@1.2.0', { kind: 'npm', spec: 'loom-plugin-x@1.2.0', name: 'loom-plugin-x' }],
    ['@acme/loom-plugin-x@^1.2', { kind: 'npm', spec: '@acme/loom-plugin-x@^1.2', name: '@acme/loom-plugin-x' }],
    ['loom-plugin-x@next', { kind: 'npm', spec: 'loom-plugin-x@next', name: 'loom-plugin-x' }],
  ])('takes the npm name %s', (raw, want) => {
    expect(parsePluginSpec(raw, parent)).toEqual(want);
  });

  it('makes a folder or a tarball path absolute against the cwd', () => {
    mkdirSync(join(parent, 'mine'));
    writeFileSync(join(parent, 'mine', 'package.json'), '{}');
    writeFileSync(join(parent, 'x-1.0.0.tgz'), '');
    expect(parsePluginSpec('./mine', parent)).toEqual({ kind: 'folder', spec: join(parent, 'mine'), name: null });
    expect(parsePluginSpec('x-1.0.0.tgz', parent)).toEqual({ kind: 'tarball', spec: join(parent, 'x-1.0.0.tgz'), name: null });
    expect(parsePluginSpec(join(parent, 'mine'), '/')).toMatchObject({ kind: 'folder', spec: join(parent, 'mine') });
  });

  it.each([
    ['an npm flag', '--global'],
    ['a flag with a value', '-g'],
    ['a NUL byte', 'loom-plugin-x\u0000'],
    ['a newline', 'loom-plugin-x\n--global'],
    ['empty', ''],
    ['a git spec behind a name', 'x@github:evil/repo'],
    ['a URL behind a name', 'x@https://evil.example/x.tgz'],
    ['a file spec behind a name', 'x@file:../x'],
    ['a URL', 'https://evil.example/x.tgz'],
    ['a GitHub shorthand', 'evil/repo'],
    ['a missing folder', './nope'],
    ['a file that is not a tarball', './package.json'],
    ['an upper-case name', 'Loom-Plugin'],
  ])('refuses %s', (_what, raw) => {
    writeFileSync(join(parent, 'package.json'), '{}');
    expect(codeOf(() => parsePluginSpec(raw, parent))).toBe('VALIDATION_FAILED');
  });
});
