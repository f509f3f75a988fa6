#!/usr/bin/env node
// The published entry: the compiled CLI (npm run build writes dist/).

// Loom needs Node 20.19 or later (package.json "engines"): say so plainly rather than failing
// somewhere inside on an older one.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(`NODE_TOO_OLD: Loom needs Node.js 20.19 or later; this is ${process.version} (${process.execPath})\nhint: install a current Node.js (https://nodejs.org), then run loom again\n`);
  process.exit(1);
}

const entry = new URL('../dist/src/app/entry/main.js', import.meta.url);
let main;
try {
  ({ main } = await import(entry.href));
} catch (e) {
  // A clone used before `npm run build` (npm ci does not build): the compiled code is not there.
  const { existsSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const file = fileURLToPath(entry);
  if (e?.code === 'ERR_MODULE_NOT_FOUND' && !existsSync(file)) {
    process.stderr.write(`NOT_BUILT: Loom's compiled code is missing (${file})\nhint: run \`npm run build\` in ${fileURLToPath(new URL('..', import.meta.url))} (a clone of Loom needs it once after npm ci, and after each pull)\n`);
    process.exit(1);
  }
  throw e;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`INTERNAL: ${e?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
