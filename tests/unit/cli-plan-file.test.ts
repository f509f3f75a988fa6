import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandedSize, jsonErrorOffset, lineAndColumn, MAX_PLAN_FILE_BYTES, parsePlanText, planFormat, readPlanFile } from '../../src/adapters/cli/plan-file.js';
import { specPath } from '../../src/adapters/cli/commands/decompose.command.js';

/*
 * `loom decompose --plan FILE`: which format a file is read as, what a
 * parse error says (file, line, reason), and the limits on what is read.
 */

const error = (fn: () => unknown): any => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
};

describe('planFormat', () => {
  it('reads .json as JSON, .yaml/.yml as YAML, anything else both ways', () => {
    expect(planFormat('plan.json')).toBe('json');
    expect(planFormat('dir/Plan.JSON')).toBe('json');
    expect(planFormat('plan.yaml')).toBe('yaml');
    expect(planFormat('plan.yml')).toBe('yaml');
    expect(planFormat('plan.txt')).toBe('auto');
    expect(planFormat('plan')).toBe('auto');
  });
});

describe('parsePlanText', () => {
  it('parses YAML and JSON plans to the same object', () => {
    const yaml = 'title: Search\ntasks:\n  - key: spec\n    title: Write the spec\n  - {key: api, title: API, depends_on: [spec]}\n';
    const json = '{"title":"Search","tasks":[{"key":"spec","title":"Write the spec"},{"key":"api","title":"API","depends_on":["spec"]}]}';
    const expected = { title: 'Search', tasks: [{ key: 'spec', title: 'Write the spec' }, { key: 'api', title: 'API', depends_on: ['spec'] }] };
    expect(parsePlanText(yaml, 'plan.yaml')).toEqual(expected);
    expect(parsePlanText(json, 'plan.json')).toEqual(expected);
    expect(parsePlanText(json, 'plan.txt')).toEqual(expected);
    expect(parsePlanText(yaml, 'plan.txt')).toEqual(expected);
    expect(parsePlanText(`\uFEFF${json}`, 'plan.json')).toEqual(expected);
  });

  it('reads YAML with the safe core schema: no code, dates stay strings', () => {
    expect(parsePlanText('title: 2001-01-01\ntasks: []\n', 'p.yaml')).toEqual({ title: '2001-01-01', tasks: [] });
    const e = error(() => parsePlanText('title: !!js/function "function () {}"\n', 'p.yaml'));
    expect(e).toMatchObject({ code: 'VALIDATION_FAILED', details: { file: 'p.yaml', line: 1 } });
    const proto = parsePlanText('title: t\n__proto__:\n  polluted: 1\n', 'p.yaml') as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
  });

  it('names the file, the line and the reason of a YAML error', () => {
    const e = error(() => parsePlanText('title: Search\ntasks:\n  - key: a\n   title: A\n', 'plan.yaml'));
    expect(e.code).toBe('VALIDATION_FAILED');
    expect(e.message).toBe('--plan plan.yaml is not valid YAML at line 4, column 4: bad indentation of a sequence entry');
    expect(e.details).toEqual({ file: 'plan.yaml', format: 'yaml', reason: 'bad indentation of a sequence entry', line: 4, column: 4 });
    expect(e.hint).toContain('Nothing was written');
    expect(error(() => parsePlanText('a: 1\na: 2\n', 'p.yml')).message).toMatch(/line 2.*duplicated mapping key/);
  });

  it('names the line of a JSON error; a file that looks like JSON is judged as JSON', () => {
    const text = '{\n  "title": "x",\n  "tasks" []\n}';
    const e = error(() => parsePlanText(text, 'plan.json'));
    expect(e.message).toBe("--plan plan.json is not valid JSON at line 3, column 11: Unexpected token '['");
    expect(e.details).toMatchObject({ file: 'plan.json', format: 'json', line: 3, column: 11 });
    expect(error(() => parsePlanText(text, 'plan')).details).toMatchObject({ format: 'json', line: 3 });
    expect(error(() => parsePlanText('{"title": "x",', 'plan.json')).details).toMatchObject({ format: 'json', line: 1, column: 15 });
    expect(error(() => parsePlanText('title: [x\n', 'plan')).details).toMatchObject({ format: 'yaml' });
  });

  it('refuses an empty file and a document that is not a mapping', () => {
    expect(error(() => parsePlanText(' \n', 'plan.yaml')).message).toBe('--plan plan.yaml is empty');
    for (const [text, what] of [['- a\n- b\n', 'a list'], ['just words\n', 'a string'], ['42', 'a number'], ['null', 'nothing']]) {
      const e = error(() => parsePlanText(text!, 'plan.yaml'));
      expect(e.code).toBe('VALIDATION_FAILED');
      expect(e.message).toBe(`--plan plan.yaml holds ${what}, not a plan: a plan is a mapping with title and tasks`);
    }
  });

  it('refuses YAML aliases that blow a small file up', () => {
    const lines = ['a0: &a0 ["xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]'];
    for (let i = 1; i < 40; i++) lines.push(`a${i}: &a${i} [*a${i - 1}, *a${i - 1}]`);
    const e = error(() => parsePlanText(`${lines.join('\n')}\ntitle: t\n`, 'bomb.yaml'));
    expect(e.message).toMatch(/expands to more than 16 MiB/);
    // A few aliases of reasonable size are fine.
    expect(parsePlanText('ctx: &c {files: [a.ts]}\ntitle: t\ntasks:\n  - {key: a, title: A, context: *c}\n', 'p.yaml')).toMatchObject({ tasks: [{ context: { files: ['a.ts'] } }] });
  });
});

describe('helpers', () => {
  it('lineAndColumn is 1-based', () => {
    expect(lineAndColumn('ab\ncd', 0)).toEqual({ line: 1, column: 1 });
    expect(lineAndColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
    expect(lineAndColumn('ab', 99)).toEqual({ line: 1, column: 3 });
  });

  it('jsonErrorOffset finds where JSON goes wrong', () => {
    const cases: Array<[string, number]> = [
      ['{"a": [1, 2,, 3]}', 12],
      ['{"a": tru}', 9],
      ['{"a" 1}', 5],
      ['{"a": 1,}', 8],
      ['[1, 2', 5],
      ['{"a": "x\\u00zz"}', 12],
      ['{"a": 01}', 7],
      ['{"a": 1} x', 9],
      ['"abc', 4],
    ];
    for (const [text, offset] of cases) {
      expect(() => JSON.parse(text), text).toThrow();
      expect(jsonErrorOffset(text), text).toBe(offset);
    }
    const valid = '{"a": [1, {"b": null}], "c": -1.5e3, "d": "\\n\\u0041", "e": true, "f": false}';
    expect(JSON.parse(valid)).toBeTruthy();
    expect(jsonErrorOffset(valid)).toBe(valid.length); // no error: the end
  });

  it('expandedSize stops counting past its budget', () => {
    expect(expandedSize({ a: ['xy'] }, 1000)).toBeGreaterThan(6);
    const shared: unknown[] = ['x'.repeat(100)];
    let v: unknown[] = shared;
    for (let i = 0; i < 60; i++) v = [v, v];
    expect(expandedSize(v, 10_000)).toBeLessThan(20_000);
  });

  it('specPath turns a path from the current directory into one from the project directory', () => {
    const root = mkdtempSync(join(tmpdir(), 'loom-spec-'));
    mkdirSync(join(root, 'docs'));
    expect(specPath('docs/a.md', root, root)).toBe('docs/a.md');
    expect(specPath('a.md', join(root, 'docs'), root)).toBe('docs/a.md');
    expect(specPath(join(root, 'docs', 'a.md'), '/', root)).toBe('docs/a.md');
    expect(specPath('../outside.md', root, root)).toBe(join(root, '..', 'outside.md'));
    expect(specPath('/etc/passwd', join(root, 'docs'), root)).toBe('/etc/passwd');
    expect(specPath('.', root, root)).toBe('.');
  });
});

describe('readPlanFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-plan-file-'));

  it('reads a file relative to the given directory', async () => {
    writeFileSync(join(dir, 'plan.yaml'), 'title: T\ntasks: [{key: a, title: A}]\n');
    expect(await readPlanFile('plan.yaml', dir)).toEqual({ title: 'T', tasks: [{ key: 'a', title: 'A' }] });
  });

  it('refuses a missing file, a directory and a file over 4 MiB', async () => {
    await expect(readPlanFile('nope.yaml', dir)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: '--plan nope.yaml does not exist', hint: expect.stringContaining('Nothing was written') });
    mkdirSync(join(dir, 'sub'));
    await expect(readPlanFile('sub', dir)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: '--plan sub is not a file' });
    writeFileSync(join(dir, 'big.json'), `{"title": "${'x'.repeat(MAX_PLAN_FILE_BYTES)}"}`);
    await expect(readPlanFile('big.json', dir)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/big\.json is \d+ bytes; a plan file is at most 4194304/) });
  });
});
