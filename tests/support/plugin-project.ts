import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repository root: what `loom-agents` is, for a plugin importing `loom-agents/plugin`. */
export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const PLUGIN_FIXTURES = join(REPO_ROOT, 'tests', 'fixtures', 'plugins');

/**
 * Makes `dir` a project whose package.json depends on plugin fixtures (by
 * `file:` paths), each copied into its node_modules as npm would install it.
 * With `linkLoom` (default), `node_modules/loom-agents` links to this
 * repository, as a project that installed Loom has it: a plugin's code
 * imports `loom-agents/plugin` and Node resolves it from the plugin's folder
 * up, to the built API (dist/src/plugins/api.js, so build first). Loom is not
 * listed as a dependency: it is no plugin, and discovery reads only the
 * dependencies.
 */
export function installPlugins(
  dir: string,
  deps: Record<string, string>,
  { field = 'devDependencies', linkLoom = true }: { field?: 'dependencies' | 'devDependencies'; linkLoom?: boolean } = {},
): string {
  const spec: Record<string, string> = {};
  for (const [name, fixture] of Object.entries(deps)) {
    spec[name] = `file:${join(PLUGIN_FIXTURES, fixture)}`;
    cpSync(join(PLUGIN_FIXTURES, fixture), join(dir, 'node_modules', name), { recursive: true });
  }
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  if (linkLoom) symlinkSync(REPO_ROOT, join(dir, 'node_modules', 'loom-agents'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', [field]: spec }));
  return dir;
}
