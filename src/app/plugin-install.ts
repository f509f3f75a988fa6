import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { LoomError } from '../domain/errors.js';
import { userPluginsDir } from '../plugins/host/discovery.js';
import { ensureLoomLink } from '../plugins/host/loom-link.js';
import { PLUGIN_KEYWORD } from '../plugins/host/manifest.js';
import { withDirLock } from './dir-lock.js';

/** What `loom plugins add` was given, checked: an npm package name (with an optional version or tag), or an absolute folder or tarball path. */
export interface PluginSpec {
  kind: 'npm' | 'folder' | 'tarball';
  /** What npm is given: the name spec as written, or the absolute path. */
  spec: string;
  /** The package name, when the spec says it (npm names). */
  name: string | null;
}

// An npm package name (scoped or not), then optionally @ and a version, range or tag: no `:` or `/`, so never
// a URL, git or file spec in disguise (`x@github:user/repo`).
const NPM_SPEC = /^((?:@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*)(?:@([0-9A-Za-z.^~<>=|*+ -]{1,200}))?$/;
const TARBALL = /\.(tgz|tar\.gz)$/i;

const badSpec = (spec: string, why: string): LoomError =>
  new LoomError('VALIDATION_FAILED', `${JSON.stringify(spec.slice(0, 120))} ${why}`, {
    hint: 'give an npm package name (loom-plugin-x, @acme/loom-plugin-x@1.2.0), a plugin folder (./my-plugin) or a packed tarball (./loom-plugin-x-1.0.0.tgz)',
    details: { spec: spec.slice(0, 300) },
  });

/**
 * Checks a SPEC from the command line before it reaches npm: a leading `-`
 * (an npm flag), control characters and anything but a name, a folder or a
 * tarball are refused; a path is made absolute against `cwd`.
 */
export function parsePluginSpec(raw: string, cwd: string): PluginSpec {
  if (typeof raw !== 'string' || raw === '') throw badSpec(String(raw), 'is empty');
  if (raw.length > 1024) throw badSpec(raw, 'is too long');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw badSpec(raw, 'contains a control character');
  if (raw.startsWith('-')) throw badSpec(raw, 'starts with "-": it would reach npm as an option');
  // As npm reads it: a path starts with . or / (a bare `a/b` would be a GitHub repo to npm; here it is a path or nothing).
  const looksLikePath = raw.startsWith('.') || raw.startsWith('/') || raw.startsWith('~') || raw.includes('\\') || TARBALL.test(raw) || (!NPM_SPEC.test(raw) && raw.includes('/'));
  if (looksLikePath) {
    if (raw.startsWith('~')) throw badSpec(raw, 'starts with "~": give the path without it (the shell expands ~ only unquoted)');
    const abs = isAbsolute(raw) ? resolve(raw) : resolve(cwd, raw);
    let isDir: boolean;
    try {
      isDir = statSync(abs).isDirectory();
    } catch {
      throw badSpec(raw, `is not an npm package name, and no file or folder ${abs} exists`);
    }
    if (isDir) {
      if (!existsSync(join(abs, 'package.json'))) throw badSpec(raw, `is a folder without a package.json (${abs})`);
      return { kind: 'folder', spec: abs, name: null };
    }
    if (!TARBALL.test(abs)) throw badSpec(raw, 'is a file but not a packed tarball (.tgz)');
    return { kind: 'tarball', spec: abs, name: null };
  }
  const m = NPM_SPEC.exec(raw);
  if (m === null) throw badSpec(raw, 'is not an npm package name (lower case, optionally @scope/ and @version)');
  return { kind: 'npm', spec: raw, name: m[1]! };
}

/** Quotes an argument for the line printed for the user to run in a shell. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Runs npm (no shell: arguments as a list), failing with PLUGIN_INSTALL_FAILED and npm's last stderr lines. */
export function runNpm(args: string[], env: NodeJS.ProcessEnv, what: string): Promise<{ stdout: string; stderr: string }> {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  return new Promise((resolvePromise, reject) => {
    execFile(npm, args, { env, timeout: 10 * 60_000, maxBuffer: 16 * 1024 * 1024, windowsHide: true }, (error, stdout, stderr) => {
      if (error === null) {
        resolvePromise({ stdout, stderr });
        return;
      }
      const notFound = (error as NodeJS.ErrnoException).code === 'ENOENT';
      const tail = String(stderr).trim().split('\n').slice(-8).join('\n');
      reject(
        new LoomError('PLUGIN_INSTALL_FAILED', notFound ? `${what}: npm was not found on the PATH` : `${what}: npm failed${tail === '' ? ` (${error.message})` : `:\n${tail}`}`, {
          hint: notFound ? 'install Node.js with npm, or put npm on the PATH' : 'read npm\'s message above; check the name and version (npm view NAME versions), the path, and the network',
          details: { command: ['npm', ...args], stderr: tail },
        }),
      );
    });
  });
}

/** The user plugin folder's package.json dependencies (name -> spec). */
function userDependencies(dir: string): Record<string, string> {
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    return typeof pkg.dependencies === 'object' && pkg.dependencies !== null ? { ...pkg.dependencies } : {};
  } catch {
    return {};
  }
}

const COMMON = ['--no-audit', '--no-fund', '--legacy-peer-deps'];

/**
 * `npm install` of a checked spec into the user plugin folder (an npm prefix,
 * its package.json created when missing). Scripts are off: an install script
 * would run the plugin's code before the user trusted it. Peers are not
 * installed: a plugin's peer `loom-agents` is the Loom that loads it, linked
 * into the folder (ensureLoomLink). A folder
 * is copied, not linked, like a published package (`plugins.paths` is the way
 * to use a folder in place). Returns the package name npm added (or updated).
 */
export async function npmInstallUserPlugin(spec: PluginSpec, env: NodeJS.ProcessEnv): Promise<{ dir: string; name: string; added: boolean; command: string[] }> {
  const dir = userPluginsDir(env);
  mkdirSync(dir, { recursive: true });
  // Two installs into one folder at once would each rewrite its package.json: they take turns.
  return withDirLock(join(dir, '.loom-install.lock'), async () => {
    const pkgPath = join(dir, 'package.json');
    if (!existsSync(pkgPath)) writeFileSync(pkgPath, `${JSON.stringify({ name: 'loom-user-plugins', private: true }, null, 2)}\n`);
    const before = userDependencies(dir);
    const args = ['install', '--prefix', dir, '--save', '--ignore-scripts', ...COMMON, ...(spec.kind === 'folder' ? ['--install-links'] : []), spec.spec];
    await runNpm(args, env, `installing ${spec.spec}`);
    ensureLoomLink(dir);
    const after = userDependencies(dir);
    const changed = Object.keys(after).filter((n) => before[n] !== after[n]);
    let name = changed.length === 1 ? changed[0]! : null;
    if (name === null && spec.name !== null && after[spec.name] !== undefined) name = spec.name;
    if (name === null && spec.kind !== 'npm') {
      // Installed before from the same path: npm wrote the same `file:` spec again.
      name = Object.keys(after).find((n) => after[n]!.startsWith('file:') && resolve(dir, after[n]!.slice('file:'.length)) === spec.spec) ?? null;
    }
    if (name === null) {
      throw new LoomError('PLUGIN_INSTALL_FAILED', `npm installed ${spec.spec}, but ${pkgPath} names no package for it`, {
        hint: `look at ${pkgPath}; \`loom plugins list\` shows what is installed`,
        details: { command: ['npm', ...args] },
      });
    }
    return { dir, name, added: before[name] === undefined, command: ['npm', ...args] };
  });
}

/** `npm uninstall` of a package from the user plugin folder. */
export async function npmUninstallUserPlugin(name: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const dir = userPluginsDir(env);
  const args = ['uninstall', '--prefix', dir, ...COMMON, name];
  await withDirLock(join(dir, '.loom-install.lock'), async () => {
    await runNpm(args, env, `removing ${name}`);
    ensureLoomLink(dir);
  });
  return ['npm', ...args];
}

/** Whether the installed package `name` in the user folder has the plugin keyword. */
export function installedIsPlugin(dir: string, name: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { keywords?: unknown };
    return Array.isArray(pkg.keywords) && pkg.keywords.includes(PLUGIN_KEYWORD);
  } catch {
    return false;
  }
}
