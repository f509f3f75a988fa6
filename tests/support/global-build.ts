import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function newest(dir: string): number {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    max = Math.max(max, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return max;
}

/**
 * The e2e and multi-process suites run the built `loom` (child processes
 * cannot load TypeScript). `npm test` builds first; a bare `vitest run`
 * rebuilds here when src/ is newer than dist/.
 */
export default function setup(): void {
  const marker = join(ROOT, 'dist/src/app/entry/main.js');
  if (existsSync(marker) && statSync(marker).mtimeMs >= newest(join(ROOT, 'src'))) return;
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  // The rest of `npm run build`: the bundled inversify that the built code imports (#inversify).
  execFileSync(process.execPath, [join(ROOT, 'scripts/bundle-vendor.mjs')], { cwd: ROOT, stdio: 'inherit' });
}
