// Part of `npm run build` (after tsc): bundles inversify, about 250 small ES
// modules (inversify, @inversifyjs/core, /container and their helpers), into one
// file, dist/src/vendor/inversify.js. Node loads each ES module on its own
// (resolve, read, compile, link): 0.2 s for inversify's files on this machine,
// against 0.04 s for the one bundle, in every process that composes Loom's
// services (the embedded daemon at start-up, every server-mode command).
//
// Loom's code imports it as `#inversify`. At run time, package.json's "imports"
// maps that to the bundle; TypeScript (tsconfig paths) and vitest (its alias)
// map it to the installed package, so the types and the tests see the same
// code the bundle was made from. tests/unit/vendor-bundle.test.ts checks that
// the bundle matches the installed version and exports the same names.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/src/vendor');
const version = (name) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;

const packages = ['inversify', '@inversifyjs/core', '@inversifyjs/container', '@inversifyjs/common'];
const banner = `/*! Bundled by loom-agents' scripts/bundle-vendor.mjs from ${packages.map((p) => `${p}@${version(p)}`).join(', ')} (MIT License, https://github.com/inversify/monorepo) */`;

mkdirSync(out, { recursive: true });
await build({
  input: join(root, 'scripts/vendor/inversify.js'),
  cwd: root,
  platform: 'node',
  logLevel: 'warn',
  // The Reflect metadata polyfill is a global: the process loads it once, first (main.ts).
  external: ['reflect-metadata'],
  output: { format: 'esm', file: join(out, 'inversify.js'), banner, sourcemap: false },
});
writeFileSync(join(out, 'inversify.d.ts'), `${banner}\nexport * from 'inversify';\n`);
