/**
 * `loom plugins trust/untrust` edit a config file the user wrote: the id is
 * added or removed under plugins.trust and everything else (comments, key
 * order, other keys) stays as it was; a second call changes nothing; a file
 * that is not YAML (or not shaped as a config) is refused and left untouched.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { load } from 'js-yaml';
import type { LoomError } from '../../src/domain/errors.js';
import { addTrust, configTrusts, removeTrust, userConfigPath } from '../../src/app/plugin-trust.js';
import { codeOf } from '../support/error-code.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loom-trust-'));
  file = join(dir, 'config.yaml');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const USER_FILE = `# my Loom settings
daemon:
  idle_timeout_seconds: 600 # ten minutes

plugins:
  # plugins I work on
  paths: [../mine]
  trust:
    - review # reviewed the code in March
`;

describe('addTrust', () => {
  it('adds the id to an existing list, keeping every comment and other key', () => {
    writeFileSync(file, USER_FILE);
    expect(addTrust(file, 'example')).toBe(true);
    const text = readFileSync(file, 'utf8');
    for (const line of ['# my Loom settings', '  idle_timeout_seconds: 600 # ten minutes', '  # plugins I work on', '  paths: [../mine]', '    - review # reviewed the code in March']) {
      expect(text).toContain(line);
    }
    expect(load(text)).toEqual({ daemon: { idle_timeout_seconds: 600 }, plugins: { paths: ['../mine'], trust: ['review', 'example'] } });
    expect(configTrusts(file, 'example')).toBe(true);
  });

  it('is idempotent: a listed id writes nothing', () => {
    writeFileSync(file, USER_FILE);
    expect(addTrust(file, 'review')).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(USER_FILE);
    expect(addTrust(file, 'example')).toBe(true);
    const once = readFileSync(file, 'utf8');
    expect(addTrust(file, 'example')).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(once);
  });

  it.each([
    ['a missing file (created, with its folder)', null, { plugins: { trust: ['example'] } }],
    ['an empty file', '', { plugins: { trust: ['example'] } }],
    ['a file of comments only', '# nothing yet\n', { plugins: { trust: ['example'] } }],
    ['a file without plugins', 'project: { id: p1, name: p }\n', { project: { id: 'p1', name: 'p' }, plugins: { trust: ['example'] } }],
    ['plugins: with no value', 'plugins:\n', { plugins: { trust: ['example'] } }],
    ['plugins without trust', 'plugins:\n  paths: [a]\n', { plugins: { paths: ['a'], trust: ['example'] } }],
    ['trust: with no value', 'plugins:\n  trust:\n', { plugins: { trust: ['example'] } }],
    ['a flow list', 'plugins: { trust: [a, b] }\n', { plugins: { trust: ['a', 'b', 'example'] } }],
  ])('writes a valid config from %s', (_what, before, after) => {
    const path = before === null ? join(dir, 'home', 'config.yaml') : file;
    if (before !== null) writeFileSync(path, before);
    expect(addTrust(path, 'example')).toBe(true);
    expect(load(readFileSync(path, 'utf8'))).toEqual(after);
    if (before?.startsWith('#')) expect(readFileSync(path, 'utf8')).toContain('# nothing yet');
  });

  it.each([
    ['not YAML', 'plugins:\n  trust: [a\n'],
    ['a list at the top', '- a\n- b\n'],
    ['plugins as a list', 'plugins: [a]\n'],
    ['trust as a string', 'plugins:\n  trust: example\n'],
  ])('refuses a file that is %s with CONFIG_INVALID, writing nothing', (_what, text) => {
    writeFileSync(file, text);
    expect(codeOf(() => addTrust(file, 'example'))).toBe('CONFIG_INVALID');
    expect(codeOf(() => removeTrust(file, 'example'))).toBe('CONFIG_INVALID');
    expect(readFileSync(file, 'utf8')).toBe(text);
    try {
      addTrust(file, 'example');
    } catch (e) {
      expect((e as LoomError).message).toContain(file);
    }
  });

  it.each(['', 'Example', '../x', 'a/b', '-rf', 'x\u0000y', 'a'.repeat(65), '1abc'])('refuses the id %j before touching the file', (id) => {
    writeFileSync(file, USER_FILE);
    expect(codeOf(() => addTrust(file, id))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => removeTrust(file, id))).toBe('VALIDATION_FAILED');
    expect(readFileSync(file, 'utf8')).toBe(USER_FILE);
  });
});

describe('removeTrust', () => {
  it('removes the id and keeps the rest, comments included', () => {
    writeFileSync(file, USER_FILE);
    addTrust(file, 'example');
    expect(removeTrust(file, 'review')).toBe(true);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('# my Loom settings');
    expect(text).toContain('  # plugins I work on');
    expect(load(text)).toEqual({ daemon: { idle_timeout_seconds: 600 }, plugins: { paths: ['../mine'], trust: ['example'] } });
  });

  it('is idempotent: an id not listed, or no file, writes nothing', () => {
    writeFileSync(file, USER_FILE);
    expect(removeTrust(file, 'other')).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(USER_FILE);
    const missing = join(dir, 'nope.yaml');
    expect(removeTrust(missing, 'review')).toBe(false);
    expect(existsSync(missing)).toBe(false);
  });
});

describe('userConfigPath', () => {
  it('is $LOOM_HOME/config.yaml, else ~/.loom/config.yaml', () => {
    expect(userConfigPath({ LOOM_HOME: '/x/home' })).toBe('/x/home/config.yaml');
    expect(userConfigPath({ HOME: '/h' })).toBe('/h/.loom/config.yaml');
  });
});
