/**
 * `loom plugins check [DIR]` (the built CLI): a plugin package checked as Loom
 * loads it, before it is installed anywhere: the manifest and its API range,
 * every skill and workflow file (file and line), and with --code its code,
 * imported as a trusted plugin's is. Without --code nothing of it runs.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loom, ROOT } from '../support/loom-cli.js';

const EXAMPLE = join(ROOT, 'examples', 'loom-plugin-example');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'loom-plugins-check-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A plugin package in dir/NAME with these files (package.json given as an object). */
function pkg(name: string, files: Record<string, string | object>): string {
  const root = join(dir, name);
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return root;
}

const manifest = (id: string, more: Record<string, unknown> = {}) => ({
  name: `loom-plugin-${id}`,
  version: '1.0.0',
  type: 'module',
  keywords: ['loom-plugin'],
  loom: { apiVersion: '^1.0.0', id, skills: 'skills', workflows: 'workflows', main: 'index.js', ...more },
});

const json = async (cwd: string, args: string[]) => {
  const r = await loom(cwd, ['plugins', 'check', ...args, '--json']);
  return { code: r.code, body: JSON.parse(r.stdout) as Record<string, any>, stderr: r.stderr };
};

describe('loom plugins check', () => {
  it('passes the example plugin, naming what it contributes; its code only with --code', async () => {
    // a copy: the check must not depend on (or write into) the repository's folder
    const copy = join(dir, 'example');
    cpSync(EXAMPLE, copy, { recursive: true, filter: (src) => !src.includes('node_modules') });
    const plain = await json(copy, []);
    expect(plain.code).toBe(0);
    expect(plain.body).toMatchObject({ ok: true, id: 'example', package: 'loom-plugin-example', api_fits: true, code: 'not_checked', problems: [] });
    expect(plain.body.skills).toEqual(['example/release_notes', 'example/security_review']);
    expect(plain.body.workflows).toEqual(['example/release']);
    expect(plain.body.runner_types).toEqual([]);

    const withCode = await json(dir, ['example', '--code']);
    expect(withCode.code).toBe(0);
    expect(withCode.body).toMatchObject({ ok: true, code: 'loaded', notifier_types: ['example/jsonl'], runner_types: ['example/claude'] });
    // no loom-agents beside the copy: the check gives it this Loom's, as an install would, and says so
    expect(withCode.body.notes).toEqual([expect.stringContaining('loom-agents is not installed beside the package')]);
    expect(existsSync(join(copy, 'node_modules'))).toBe(false); // nothing written into the package

    const text = await loom(copy, ['plugins', 'check']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('ok: Loom loads it as it is');
  });

  it('lists every broken skill and workflow with its file and line, and exits 1', async () => {
    const root = pkg('broken', {
      'package.json': manifest('broken'),
      'skills/good.md': '---\nname: good\nversion: 1.0.0\ndescription: A good skill\n---\nHello {{ task.title }}\n',
      'skills/bad.md': '---\nname: bad\nversion: 1.0.0\ndescription: A bad one\narguments: 7\n---\nHello\n',
      'workflows/bad.yaml': 'name: bad\nversion: 1.0.0\nsteps:\n  - key: a\n    title: [oops\n',
      'index.js': "throw new Error('must not run without --code');\n",
    });
    const r = await json(root, []);
    expect(r.code).toBe(1);
    expect(r.body.ok).toBe(false);
    expect(r.body.skills).toEqual(['broken/good']);
    expect(r.body.problems).toEqual([
      expect.objectContaining({ code: 'SKILL_INVALID', file: join('skills', 'bad.md'), line: expect.any(Number), message: expect.stringContaining('arguments') }),
      expect.objectContaining({ code: 'WORKFLOW_INVALID', file: join('workflows', 'bad.yaml'), line: expect.any(Number) }),
    ]);
    const text = await loom(root, ['plugins', 'check']);
    expect(text.stdout).toMatch(/SKILL_INVALID: skills\/bad\.md:\d+: /);
    expect(text.stdout).toContain('2 problems to fix before Loom can load all of it');
  });

  it('runs no code without --code; with it, a main that throws is PLUGIN_IMPORT_FAILED', async () => {
    const root = pkg('throws', {
      'package.json': manifest('throws', { skills: undefined, workflows: undefined }),
      'index.js': "import { writeFileSync } from 'node:fs';\nwriteFileSync(new URL('./ran', import.meta.url), 'x');\nthrow new Error('boom at import');\n",
    });
    const plain = await json(root, []);
    expect(plain.code).toBe(0);
    expect(plain.body.code).toBe('not_checked');
    expect(existsSync(join(root, 'ran'))).toBe(false);
    const withCode = await json(root, ['--code']);
    expect(withCode.code).toBe(1);
    expect(withCode.body.code).toBe('failed');
    expect(withCode.body.problems).toEqual([expect.objectContaining({ code: 'PLUGIN_IMPORT_FAILED', message: expect.stringContaining('boom at import'), hint: expect.stringContaining('fix what importing') })]);
  });

  it('says when its plugin API range does not admit this Loom', async () => {
    const root = pkg('future', { 'package.json': manifest('future', { apiVersion: '^9.0.0', skills: undefined, workflows: undefined, main: undefined }) });
    const r = await json(root, []);
    expect(r.code).toBe(1);
    expect(r.body).toMatchObject({ api_fits: false, api_version: '^9.0.0', problems: [expect.objectContaining({ code: 'PLUGIN_API_MISMATCH' })] });
  });

  it('a package that is not a plugin, and folders that are not packages, are told so', async () => {
    const plainPackage = pkg('plain', { 'package.json': { name: 'left-pad', version: '1.0.0' } });
    const r = await json(plainPackage, []);
    expect(r.code).toBe(1);
    expect(r.body).toMatchObject({ ok: false, package: null, problems: [expect.objectContaining({ code: 'PLUGIN_NOT_A_PLUGIN', hint: expect.stringContaining('"loom-plugin"') })] });
    for (const [args, says] of [
      [['../no-such-folder'], 'is not a folder'],
      [[join(plainPackage, 'package.json')], 'is not a folder'],
      [[dir], 'has no package.json'],
    ] as const) {
      const bad = await loom(plainPackage, ['plugins', 'check', ...args]);
      expect(bad.code, args.join(' ')).toBe(1);
      expect(bad.stderr).toContain('VALIDATION_FAILED');
      expect(bad.stderr).toContain(says);
    }
  });
});
