// Part of `npm run build` (after tsc): bundles two dependencies made of many
// small modules into one file each, under dist/src/vendor/. Node loads each
// module on its own (resolve, read, compile, link), so many small files cost a
// process's start far more than the same code in one file:
// - inversify (~250 ES modules: inversify, @inversifyjs/*): 0.2 s against 0.04 s
//   for the bundle, in every process that composes Loom's services (the
//   embedded daemon at start-up, every server-mode command);
// - the MCP SDK's server side (the SDK, zod, ajv and their helpers, ~110 ES and
//   CommonJS modules): ~0.22 s against ~0.1 s, in every `loom mcp`, whose start
//   shares the machine with the daemon it starts (scripts/vendor/mcp-sdk.js says
//   what is in it).
//
// Loom's code imports them as `#inversify` and `#mcp-sdk` (and `#mcp-sdk-http`: the HTTP
// transport, for `loom serve` only, sharing the SDK's chunks). At run time,
// package.json's "imports" maps those to the bundles; TypeScript (tsconfig
// paths) and vitest (its aliases) map them to the installed packages, so the
// types and the tests see the same code the bundles were made from.
// tests/unit/vendor-bundle.test.ts checks that each bundle matches the
// installed versions and exports the same names.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/src/vendor');

// Each group is built at once; the entries of a group share chunks (dist/src/vendor/chunks/).
const BUNDLES = [
  {
    entries: ['inversify'],
    // The Reflect metadata polyfill is a global: the process loads it once, first (main.ts).
    external: ['reflect-metadata'],
    types: { inversify: "export * from 'inversify';\n" },
  },
  {
    // The stdio server (`loom mcp`), and apart from it the Streamable HTTP transport and its
    // HTTP server (`loom serve` only): ~25 ms of loading that `loom mcp` does without.
    entries: ['mcp-sdk', 'mcp-sdk-http'],
    external: [],
    // The declarations of each entry's re-exports, from the installed package.
    types: {
      'mcp-sdk': readFileSync(join(root, 'scripts/vendor/mcp-sdk.d.ts'), 'utf8'),
      'mcp-sdk-http': readFileSync(join(root, 'scripts/vendor/mcp-sdk-http.d.ts'), 'utf8'),
    },
  },
];

/** The folders of the packages a bundle holds, from the modules rolldown put in it. */
function packageDirs(moduleIds) {
  const dirs = new Set();
  for (const id of moduleIds) {
    const i = id.lastIndexOf('/node_modules/');
    if (i < 0) continue;
    const rest = id.slice(i + '/node_modules/'.length).split('/');
    dirs.add(id.slice(0, i + '/node_modules/'.length) + rest.slice(0, rest[0].startsWith('@') ? 2 : 1).join('/'));
  }
  return [...dirs].sort();
}

const pkgOf = (dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));

/** A package's licence text, as its files hold it (LICENSE, LICENCE, LICENSE.md, ...). */
function licenceText(dir) {
  const file = readdirSync(dir).find((f) => /^licen[cs]e(\.(md|txt))?$/i.test(f));
  if (file === undefined) throw new Error(`${dir}: no licence file to ship with the bundle`);
  return readFileSync(join(dir, file), 'utf8').trim();
}

rmSync(join(out, 'chunks'), { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const licences = new Map();
for (const b of BUNDLES) {
  const result = await build({
    input: Object.fromEntries(b.entries.map((name) => [name, join(root, `scripts/vendor/${name}.js`)])),
    cwd: root,
    platform: 'node',
    logLevel: 'warn',
    external: b.external,
    write: false,
    output: { format: 'esm', dir: out, entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js', sourcemap: false },
  });
  const files = result.output.filter((o) => o.type === 'chunk');
  if (files.length !== result.output.length || b.entries.some((name) => !files.some((f) => f.isEntry && f.fileName === `${name}.js`))) {
    throw new Error(`${b.entries.join(', ')}: unexpected output ${result.output.map((o) => o.fileName).join(', ')}`);
  }
  const dirs = packageDirs(files.flatMap((f) => Object.keys(f.modules)));
  const held = dirs.map((dir) => `${pkgOf(dir).name}@${pkgOf(dir).version}`);
  for (const dir of dirs) licences.set(`${pkgOf(dir).name}@${pkgOf(dir).version} (${pkgOf(dir).license})`, licenceText(dir));
  const banner = `/*! Bundled by loom-agents' scripts/bundle-vendor.mjs from ${held.join(', ')}: their licences are in LICENSES.txt in dist/src/vendor */`;
  for (const f of files) {
    mkdirSync(dirname(join(out, f.fileName)), { recursive: true });
    writeFileSync(join(out, f.fileName), `${banner}\n${f.code}`);
  }
  for (const name of b.entries) writeFileSync(join(out, `${name}.d.ts`), `${banner}\n${b.types[name]}`);
}
writeFileSync(
  join(out, 'LICENSES.txt'),
  `The files of this folder bundle the code of these packages, under these licences.\n\n${[...licences].sort(([a], [b]) => a.localeCompare(b)).map(([name, text]) => `${name}\n${'-'.repeat(name.length)}\n${text}\n`).join('\n')}`,
);
