import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The root of the running Loom package (the folder of its package.json, name `loom-agents`), or null. */
export function loomPackageRoot(): string | null {
  for (let dir = dirname(fileURLToPath(import.meta.url)), i = 0; i < 8; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (pkg.name === 'loom-agents') return dir;
    } catch {
      // keep looking upwards
    }
    if (dirname(dir) === dir) break;
  }
  return null;
}

/**
 * Makes `loom-agents` resolvable for the plugins of the user plugin folder:
 * `<dir>/node_modules/loom-agents` links to the running Loom. A plugin lists
 * Loom as a peer dependency and imports `loom-agents/plugin`; in a project
 * npm installs that peer beside it, but the user folder is Loom's own, and the
 * Loom loading the plugin is the one it must get (npm is told to leave peers
 * alone there, and prunes the link on each install, so it is made again after
 * each npm run and before plugin code loads). Never throws: a failure shows
 * as the plugin's import error.
 */
export function ensureLoomLink(dir: string): void {
  const root = loomPackageRoot();
  if (root === null || !existsSync(join(dir, 'node_modules'))) return;
  const link = join(dir, 'node_modules', 'loom-agents');
  try {
    const st = lstatSync(link, { throwIfNoEntry: false });
    if (st !== undefined) {
      if (st.isSymbolicLink() && resolve(dirname(link), readlinkSync(link)) === root) return;
      if (!st.isSymbolicLink()) return; // a real install someone made: theirs to keep
      rmSync(link);
    }
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(root, link, 'dir');
  } catch {
    // left to the import to report
  }
}
