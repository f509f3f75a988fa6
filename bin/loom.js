#!/usr/bin/env node
// The published entry: the compiled CLI (npm run build writes dist/).
import { main } from '../dist/src/app/entry/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`INTERNAL: ${e?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
