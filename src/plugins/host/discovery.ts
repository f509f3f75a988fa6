import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { DiscoveredPlugin, PluginOrigin, PluginProblem } from '../../ports/loom-connector.js';
import { checkPluginPackage, hasPluginKeyword, PLUGIN_KEYWORD } from './manifest.js';

export interface DiscoverOptions {
  /** The project whose package.json dependencies are plugins, and against which `paths` resolve (none: the user folder only). */
  projectDir: string | null;
  /** LOOM_HOME and HOME: the user plugin folder is `$LOOM_HOME/plugins` (default ~/.loom/plugins). None: no user folder. */
  env?: NodeJS.ProcessEnv;
  /** Config `plugins.paths`: plugin package directories, relative to the project. */
  paths?: readonly string[];
  /** Config `plugins.trust`: plugin ids whose code may run. */
  trust?: readonly string[];
}

export interface PluginDiscovery {
  plugins: DiscoveredPlugin[];
  /** Every problem: each plugin's errors, duplicate ids, trust entries naming no plugin (warnings). */
  problems: PluginProblem[];
}

/** The user plugin folder: an npm prefix (its package.json lists what is installed in its node_modules). */
export const userPluginsDir = (env: NodeJS.ProcessEnv): string => join(env.LOOM_HOME ?? join(env.HOME ?? homedir(), '.loom'), 'plugins');

/** A plugin is usable (its skills and workflows are served) when its API fits and it has no error. */
export const pluginIsActive = (p: DiscoveredPlugin): boolean => p.api_fits && p.errors.length === 0;

const cache = new Map<string, { plugins: DiscoveredPlugin[]; problems: PluginProblem[] }>();

/** Forgets what was discovered (tests; a command that installs plugins). */
export function clearPluginCache(): void {
  cache.clear();
}

/**
 * The plugins the user installed, never a scan of node_modules: the
 * project's dependencies and devDependencies (resolved as Node resolves
 * packages), the user plugin folder, and config `plugins.paths`. Only
 * packages with the `loom-plugin` keyword count; each is checked (manifest,
 * API range, paths) and a second plugin with a taken id is refused. No
 * plugin code runs. Cached per process by (projectDir, LOOM_HOME, paths);
 * trust is applied on every call.
 */
export function discoverPlugins(o: DiscoverOptions): PluginDiscovery {
  const userDir = o.env === undefined ? null : userPluginsDir(o.env);
  const key = JSON.stringify([o.projectDir, userDir, o.paths ?? []]);
  let found = cache.get(key);
  if (found === undefined) {
    found = discover(o.projectDir, userDir, o.paths ?? []);
    cache.set(key, found);
  }
  const trust = new Set(o.trust ?? []);
  // Trust names an id: a plugin refused for a taken id is not the one trusted.
  const plugins = found.plugins.map((p) => ({ ...p, trusted: trust.has(p.id) && !p.errors.some((e) => e.code === 'PLUGIN_DUPLICATE_ID') }));
  const problems = [...found.problems];
  for (const id of trust) {
    if (plugins.some((p) => p.id === id)) continue;
    problems.push({
      package: id,
      id,
      field: 'plugins.trust',
      code: 'PLUGIN_TRUST_UNKNOWN',
      message: `plugins.trust names "${id}", but no plugin with that id is installed`,
      hint: 'install the plugin, or remove the id from plugins.trust in the config',
      severity: 'warning',
    });
  }
  return { plugins, problems };
}

interface Candidate {
  /** The package directory as found (before real paths). */
  dir: string;
  source: PluginOrigin;
  /** Named in config `plugins.paths`: not being a plugin is an error there, not a reason to skip it. */
  explicit: boolean;
  /** How it was asked for (a dependency name or a configured path), for problems. */
  asked: string;
}

function discover(projectDir: string | null, userDir: string | null, paths: readonly string[]): { plugins: DiscoveredPlugin[]; problems: PluginProblem[] } {
  const candidates: Candidate[] = [];
  const problems: PluginProblem[] = [];
  if (projectDir !== null) {
    for (const name of dependencyNames(join(projectDir, 'package.json'))) {
      const dir = resolvePackage(name, projectDir, true);
      if (dir !== null) candidates.push({ dir, source: 'project', explicit: false, asked: name });
      // Not installed (yet): not known to be a plugin, so nothing to say.
    }
  }
  if (userDir !== null) {
    for (const name of dependencyNames(join(userDir, 'package.json'))) {
      const dir = resolvePackage(name, userDir, false);
      if (dir !== null) candidates.push({ dir, source: 'user', explicit: false, asked: name });
      else problems.push(notFound(name, `${name} is listed in ${join(userDir, 'package.json')} but not installed in ${join(userDir, 'node_modules')}`, `run \`npm install\` in ${userDir}`));
    }
  }
  for (const path of paths) {
    candidates.push({ dir: resolve(projectDir ?? process.cwd(), path), source: 'path', explicit: true, asked: path });
  }

  const plugins: DiscoveredPlugin[] = [];
  const seenDirs = new Set<string>();
  const byId = new Map<string, DiscoveredPlugin>();
  for (const c of candidates) {
    let dir: string;
    let pkg: unknown;
    try {
      dir = realpathSync(c.dir);
      pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    } catch (e) {
      if (c.explicit) {
        const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
        problems.push(
          missing
            ? notFound(c.asked, `plugins.paths entry "${c.asked}": no package.json in ${c.dir}`, 'point plugins.paths at a plugin package folder (one holding its package.json), or remove the entry')
            : { package: c.asked, field: 'package.json', code: 'PLUGIN_PACKAGE_INVALID', message: `${join(c.dir, 'package.json')} is not valid JSON: ${(e as Error).message}`, hint: 'fix the package.json', severity: 'error' },
        );
      } else if (!((e as NodeJS.ErrnoException).code === 'ENOENT')) {
        problems.push({ package: c.asked, field: 'package.json', code: 'PLUGIN_PACKAGE_INVALID', message: `${join(c.dir, 'package.json')} is not valid JSON: ${(e as Error).message}`, hint: 'reinstall the package', severity: 'error' });
      }
      continue;
    }
    if (seenDirs.has(dir)) continue; // one package reached twice (a dependency that is also a configured path)
    seenDirs.add(dir);
    if (!hasPluginKeyword(pkg)) {
      if (c.explicit) {
        problems.push({
          package: c.asked,
          field: 'plugins.paths',
          code: 'PLUGIN_NOT_A_PLUGIN',
          message: `plugins.paths entry "${c.asked}" (${dir}) has no "${PLUGIN_KEYWORD}" keyword in its package.json`,
          hint: `add "keywords": ["${PLUGIN_KEYWORD}"] and a "loom" field to its package.json, or remove the entry`,
          severity: 'error',
        });
      }
      continue;
    }
    const m = checkPluginPackage(dir, pkg);
    const plugin: DiscoveredPlugin = {
      id: m.id,
      package: m.package,
      version: m.version,
      dir,
      source: c.source,
      api_version: m.api_version,
      api_fits: m.api_fits,
      trusted: false,
      skills: m.skills,
      workflows: m.workflows,
      main: m.main,
      errors: m.errors,
    };
    const taken = byId.get(plugin.id);
    if (taken !== undefined) {
      plugin.errors.push({
        package: plugin.package,
        id: plugin.id,
        field: 'loom.id',
        code: 'PLUGIN_DUPLICATE_ID',
        message: `${plugin.package} (${plugin.dir}) has the id "${plugin.id}", already taken by ${taken.package} (${taken.dir}); ${plugin.package} is skipped`,
        hint: `uninstall one of them, or give one another id (\`loom.id\` in its package.json)`,
        severity: 'error',
      });
    } else {
      byId.set(plugin.id, plugin);
    }
    plugins.push(plugin);
    problems.push(...plugin.errors);
  }
  return { plugins, problems };
}

function notFound(pkg: string, message: string, hint: string): PluginProblem {
  return { package: pkg, code: 'PLUGIN_NOT_FOUND', message, hint, severity: 'error' };
}

/** The names in `dependencies` and `devDependencies` of a package.json (none when it is missing or broken). */
function dependencyNames(packageJson: string): string[] {
  let pkg: unknown;
  try {
    pkg = JSON.parse(readFileSync(packageJson, 'utf8'));
  } catch {
    return [];
  }
  if (typeof pkg !== 'object' || pkg === null) return [];
  const names = new Set<string>();
  for (const field of ['dependencies', 'devDependencies'] as const) {
    const deps = (pkg as Record<string, unknown>)[field];
    if (typeof deps !== 'object' || deps === null) continue;
    for (const name of Object.keys(deps)) if (/^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i.test(name)) names.add(name);
  }
  return [...names];
}

/**
 * Where Node would find package `name` from `from`: the first
 * node_modules/<name> holding a package.json, from `from` up to the root
 * (`walkUp` false: only `from`'s own node_modules). Reads package.json
 * directly, so a package that does not export it is found too.
 */
function resolvePackage(name: string, from: string, walkUp: boolean): string | null {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (!walkUp || dirname(dir) === dir) return null;
  }
}
