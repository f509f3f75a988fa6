/**
 * The `loom` field of a plugin's package.json: schema, default id, API
 * range, paths kept inside the package. Table-driven over a temp package
 * folder with a skills/ and a workflows/ folder and a main.js.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLUGIN_API_VERSION } from '../../src/plugins/api-version.js';
import { checkPluginPackage, defaultPluginId } from '../../src/plugins/host/manifest.js';

let root: string;
let pkgDir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'loom-manifest-'));
  pkgDir = join(root, 'pkg');
  mkdirSync(join(pkgDir, 'skills'), { recursive: true });
  mkdirSync(join(pkgDir, 'workflows'));
  writeFileSync(join(pkgDir, 'main.js'), 'export default {};\n');
  mkdirSync(join(root, 'outside'));
  symlinkSync(join(root, 'outside'), join(pkgDir, 'link-out'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const pkg = (loom: unknown, extra: Record<string, unknown> = {}) => ({ name: 'loom-plugin-review', version: '1.0.0', keywords: ['loom-plugin'], ...(loom === undefined ? {} : { loom }), ...extra });

describe('plugin manifest', () => {
  it('has host plugin API 1.5.0', () => expect(PLUGIN_API_VERSION).toBe('1.5.0'));

  it('accepts a valid manifest, resolving its paths inside the package', () => {
    const r = checkPluginPackage(pkgDir, pkg({ apiVersion: '^1.0.0', id: 'rev', skills: 'skills', workflows: './workflows', main: 'main.js' }));
    expect(r.errors).toEqual([]);
    expect(r).toMatchObject({ is_plugin: true, id: 'rev', package: 'loom-plugin-review', version: '1.0.0', api_version: '^1.0.0', api_fits: true });
    expect(r.skills).toMatch(/pkg[/\\]skills$/);
    expect(r.workflows).toMatch(/pkg[/\\]workflows$/);
    expect(r.main).toMatch(/pkg[/\\]main\.js$/);
  });

  it.each([
    ['loom-plugin-review', 'review'],
    ['@acme/loom-plugin-review', 'review'],
    ['@acme/review-pack', 'review-pack'],
    ['review-pack', 'review-pack'],
  ])('defaults the id of %s to %s', (name, id) => {
    expect(defaultPluginId(name)).toBe(id);
    expect(checkPluginPackage(pkgDir, pkg({ apiVersion: '^1.0.0' }, { name })).id).toBe(id);
  });

  it('refuses a package name that makes no valid id, unless loom.id is set', () => {
    const r = checkPluginPackage(pkgDir, pkg({ apiVersion: '^1.0.0' }, { name: 'Loom_Review' }));
    expect(r.errors.map((e) => [e.code, e.field])).toEqual([['PLUGIN_MANIFEST_INVALID', 'loom.id']]);
    expect(checkPluginPackage(pkgDir, pkg({ apiVersion: '^1.0.0', id: 'review' }, { name: 'Loom_Review' })).errors).toEqual([]);
  });

  it.each<[string, unknown, Array<[string, string]>]>([
    ['apiVersion missing', {}, [['PLUGIN_MANIFEST_INVALID', 'loom.apiVersion']]],
    ['apiVersion a number', { apiVersion: 1 }, [['PLUGIN_MANIFEST_INVALID', 'loom.apiVersion']]],
    ['apiVersion not a range', { apiVersion: 'soon' }, [['PLUGIN_MANIFEST_INVALID', 'loom.apiVersion']]],
    ['skills a number', { apiVersion: '^1.0.0', skills: 42 }, [['PLUGIN_MANIFEST_INVALID', 'loom.skills']]],
    ['an id with capitals', { apiVersion: '^1.0.0', id: 'Review' }, [['PLUGIN_MANIFEST_INVALID', 'loom.id']]],
    ['an unknown field', { apiVersion: '^1.0.0', colour: 'blue' }, [['PLUGIN_MANIFEST_INVALID', 'loom.colour']]],
    ['not an object', 'yes', [['PLUGIN_MANIFEST_INVALID', 'loom']]],
    ['skills with ../', { apiVersion: '^1.0.0', skills: '../outside' }, [['PLUGIN_PATH_ESCAPE', 'loom.skills']]],
    ['skills through ../ and back in', { apiVersion: '^1.0.0', skills: 'skills/../../pkg/skills' }, []],
    ['workflows absolute', { apiVersion: '^1.0.0', workflows: '/etc' }, [['PLUGIN_PATH_ESCAPE', 'loom.workflows']]],
    ['main absolute', { apiVersion: '^1.0.0', main: '/tmp/x.js' }, [['PLUGIN_PATH_ESCAPE', 'loom.main']]],
    ['skills through a link out of the package', { apiVersion: '^1.0.0', skills: 'link-out' }, [['PLUGIN_PATH_ESCAPE', 'loom.skills']]],
    ['a missing skills folder', { apiVersion: '^1.0.0', skills: 'no-such-folder' }, [['PLUGIN_PATH_MISSING', 'loom.skills']]],
    ['a missing workflows folder', { apiVersion: '^1.0.0', workflows: 'flows' }, [['PLUGIN_PATH_MISSING', 'loom.workflows']]],
    ['skills a file', { apiVersion: '^1.0.0', skills: 'main.js' }, [['PLUGIN_PATH_MISSING', 'loom.skills']]],
    ['main a folder', { apiVersion: '^1.0.0', main: 'skills' }, [['PLUGIN_PATH_MISSING', 'loom.main']]],
  ])('%s', (_name, loom, expected) => {
    const r = checkPluginPackage(pkgDir, pkg(loom));
    expect(r.errors.map((e) => [e.code, e.field])).toEqual(expected);
    for (const e of r.errors) {
      expect(e.package).toBe('loom-plugin-review');
      expect(e.message).toContain('loom-plugin-review');
      expect(e.message).toContain(e.field);
      expect(e.hint.length).toBeGreaterThan(0);
    }
  });

  it.each<[string, boolean]>([
    ['^1.0.0', true],
    ['1.x', true],
    ['>=1.0.0 <2', true],
    ['*', true],
    ['^2', false],
    ['^1.1.0', true],
    ['^1.2.0', true],
    ['^1.3.0', true],
    ['^1.4.0', true],
    ['^1.5.0', true],
    ['^1.6.0', false],
    ['~1.2.0', false],
    ['~1.1.0', false],
    ['~1.0.0', false],
    ['~0.9.0', false],
  ])('API range %s fits 1.5.0: %s', (range, fits) => {
    const r = checkPluginPackage(pkgDir, pkg({ apiVersion: range }));
    expect(r.api_fits).toBe(fits);
    expect(r.errors.map((e) => e.code)).toEqual(fits ? [] : ['PLUGIN_API_MISMATCH']);
  });

  it('checks the range against the host version given', () => {
    expect(checkPluginPackage(pkgDir, pkg({ apiVersion: '^2' }), '2.3.0').api_fits).toBe(true);
  });

  it('a package with the keyword and no loom field is an error with a hint', () => {
    const r = checkPluginPackage(pkgDir, pkg(undefined));
    expect(r.errors).toEqual([expect.objectContaining({ code: 'PLUGIN_NO_MANIFEST', field: 'loom', package: 'loom-plugin-review', hint: expect.stringContaining('apiVersion') })]);
  });

  it('a package without the keyword is not a plugin, whatever else it has', () => {
    const r = checkPluginPackage(pkgDir, { name: 'left-pad', loom: { apiVersion: 'nonsense' } });
    expect(r.is_plugin).toBe(false);
    expect(r.errors).toEqual([]);
  });
});
