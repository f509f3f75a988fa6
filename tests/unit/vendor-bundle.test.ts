/**
 * The built code imports inversify as `#inversify`: package.json "imports" maps that to
 * dist/src/vendor/inversify.js, the one-file bundle scripts/bundle-vendor.mjs makes of the
 * installed package at `npm run build` (Node loads inversify's ~250 ES modules one by one
 * otherwise: ~0.2 s of every daemon start). The tests themselves import the package (vitest's
 * alias), so these checks hold the bundle to it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as installed from 'inversify';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUNDLE = join(ROOT, 'dist/src/vendor/inversify.js');
const version = (name: string) => (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

function builtFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? builtFiles(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : []));
}

describe('the bundled inversify (#inversify)', () => {
  const text = readFileSync(BUNDLE, 'utf8');

  it('is made from the installed versions (else: npm run build)', () => {
    const banner = text.slice(0, text.indexOf('*/'));
    for (const name of ['inversify', '@inversifyjs/core', '@inversifyjs/container', '@inversifyjs/common']) {
      expect(banner, `${name} was updated since the last build: run npm run build`).toContain(`${name}@${version(name)}`);
    }
  });

  it('exports what the package exports, and the same container works', async () => {
    const bundled = (await import(pathToFileURL(BUNDLE).href)) as typeof installed;
    expect(Object.keys(bundled).sort()).toEqual(Object.keys(installed).sort());
    const c = new bundled.Container();
    const token = Symbol('greeting');
    c.load(new bundled.ContainerModule((o) => void o.bind(token).toConstantValue('hello')));
    expect(c.get(token)).toBe('hello');
  });

  it('imports nothing: it is all of inversify in one file', () => {
    expect(text).not.toMatch(/^\s*import\s/m);
    expect(text).not.toMatch(/\bimport\(|\brequire\(['"]/);
  });

  it('is what the package maps #inversify to, and no built module imports inversify itself', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { imports: Record<string, string> };
    expect(createRequire(join(ROOT, 'package.json')).resolve('#inversify')).toBe(join(ROOT, pkg.imports['#inversify']!));
    expect(join(ROOT, pkg.imports['#inversify']!)).toBe(BUNDLE);
    const offenders = builtFiles(join(ROOT, 'dist/src'))
      .filter((f) => f !== BUNDLE)
      .filter((f) => /from ['"](inversify|@inversifyjs\/[^'"]*)['"]|import\(['"](inversify|@inversifyjs)/.test(readFileSync(f, 'utf8')));
    expect(offenders.map((f) => f.slice(ROOT.length))).toEqual([]);
    const users = builtFiles(join(ROOT, 'dist/src')).filter((f) => readFileSync(f, 'utf8').includes("from '#inversify'"));
    expect(users.length).toBeGreaterThanOrEqual(6);
  });
});
