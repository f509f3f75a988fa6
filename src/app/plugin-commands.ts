import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LoomError } from '../domain/errors.js';
import type {
  DiscoveredPlugin,
  PluginAddResult,
  PluginConfigScope,
  PluginInfo,
  PluginList,
  PluginNewResult,
  PluginRemoveResult,
  PluginRestart,
  PluginTrustResult,
  PluginUntrustResult,
} from '../ports/loom-connector.js';
import { clearPluginCache } from '../plugins/host/discovery.js';
import { loomPackageRoot } from '../plugins/host/loom-link.js';
import { loadConfig, PROJECT_CONFIG } from './config.js';
import { installedIsPlugin, npmInstallUserPlugin, npmUninstallUserPlugin, parsePluginSpec, shellQuote } from './plugin-install.js';
import { withDirLock } from './dir-lock.js';
import { writePluginScaffold } from './plugin-scaffold.js';
import { addTrust, checkPluginId, configTrusts, removeTrust, userConfigPath } from './plugin-trust.js';
import { listPlugins } from './plugins.js';

/** What the plugin commands need from the connector: the project found (or none), and a way to restart what loaded plugins. */
export interface PluginCommandScope {
  /** The project directory, or null outside any project (user-scope commands still work). */
  projectDir: string | null;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Stops the project's daemon (embedded mode); resolves whether one was running. */
  stopDaemon: (projectDir: string) => Promise<boolean>;
}

// Awaited: listing may become asynchronous (it may import trusted plugins' code to say what they contribute).
const list = async (s: PluginCommandScope): Promise<PluginList> => {
  const config = s.projectDir === null ? null : loadConfig(s.projectDir, s.env);
  if (config === null) {
    // No project: the user folder, with the user config's plugin settings.
    const user = loadConfig(join(dirname(userConfigPath(s.env)), 'no-project'), s.env);
    return await listPlugins({ projectDir: null, env: s.env, plugins: user.plugins });
  }
  return await listPlugins({ projectDir: s.projectDir, env: s.env, plugins: config.plugins });
};

const notFound = (id: string, plugins: readonly DiscoveredPlugin[]): LoomError =>
  new LoomError('PLUGIN_NOT_FOUND', `no plugin with the id "${id}" is installed`, {
    hint: plugins.length === 0 ? 'no plugins are installed: `loom plugins add PACKAGE`, then `loom plugins list`' : `installed: ${[...new Set(plugins.map((p) => p.id))].join(', ')} (see \`loom plugins list\`)`,
    details: { id },
  });

/** The config file of a scope; `project` needs a project. */
function configPath(s: PluginCommandScope, scope: PluginConfigScope): string {
  if (scope === 'user') return userConfigPath(s.env);
  if (s.projectDir === null) {
    throw new LoomError('NO_PROJECT', `--project: no project here (looked in ${s.cwd} and its parents)`, {
      hint: 'run it in a project directory (one with .loom/config.yaml), or drop --project to use your own config',
    });
  }
  return join(s.projectDir, PROJECT_CONFIG);
}

/** After a change to what plugins run: the daemon that loaded them is stopped; server mode has processes the user restarts. */
async function restart(s: PluginCommandScope): Promise<PluginRestart | null> {
  if (s.projectDir === null) return null;
  const config = loadConfig(s.projectDir, s.env);
  if (config.database_url !== null) {
    return { daemon_stopped: false, note: 'server mode: restart the `loom orchestrate` (and `loom serve`) processes of this project to pick this up' };
  }
  const stopped = await s.stopDaemon(s.projectDir);
  return {
    daemon_stopped: stopped,
    note: stopped ? "stopped the project's daemon: the next loom command starts one that reads this" : "the project's daemon is not running: the next loom command starts one that reads this",
  };
}

/** One edit of a config file at a time: two trust commands at once would each write the file without the other's id. */
async function editing<T>(path: string, edit: () => T): Promise<T> {
  mkdirSync(dirname(path), { recursive: true });
  return withDirLock(`${path}.lock`, async () => edit());
}

export async function trustPlugin(s: PluginCommandScope, id: string, scope: PluginConfigScope): Promise<PluginTrustResult> {
  checkPluginId(id);
  const path = configPath(s, scope);
  const found = (await list(s)).plugins;
  const plugin = found.find((p) => p.id === id && !p.errors.some((e) => e.code === 'PLUGIN_DUPLICATE_ID')) ?? found.find((p) => p.id === id);
  if (plugin === undefined) throw notFound(id, found);
  const changed = await editing(path, () => addTrust(path, id));
  return { id, package: plugin.package, changed, scope, config_path: path, main: plugin.main, restart: changed ? await restart(s) : null };
}

export async function untrustPlugin(s: PluginCommandScope, id: string, onlyProject: boolean): Promise<PluginUntrustResult> {
  checkPluginId(id);
  const scopes: PluginConfigScope[] = onlyProject ? ['project'] : s.projectDir === null ? ['user'] : ['user', 'project'];
  const removed_from: PluginUntrustResult['removed_from'] = [];
  for (const scope of scopes) {
    const path = configPath(s, scope);
    if (await editing(path, () => removeTrust(path, id))) removed_from.push({ scope, config_path: path });
  }
  const still_trusted_in: PluginUntrustResult['still_trusted_in'] = [];
  if (onlyProject && configTrusts(userConfigPath(s.env), id)) still_trusted_in.push({ scope: 'user', config_path: userConfigPath(s.env) });
  return { id, removed_from, still_trusted_in, restart: removed_from.length > 0 ? await restart(s) : null };
}

export async function addPlugin(s: PluginCommandScope, raw: string, scope: PluginConfigScope): Promise<PluginAddResult> {
  const spec = parsePluginSpec(raw, s.cwd);
  if (scope === 'project') {
    // The project's package.json and lock file are the team's: Loom does not rewrite them; the user runs npm.
    return { scope, spec: spec.spec, command: ['npm', 'i', '-D', spec.spec], installed: false };
  }
  const installed = await npmInstallUserPlugin(spec, s.env);
  clearPluginCache();
  if (!installedIsPlugin(installed.dir, installed.name)) {
    if (installed.added) await npmUninstallUserPlugin(installed.name, s.env);
    throw new LoomError('PLUGIN_NOT_A_PLUGIN', `${installed.name} is not a Loom plugin: its package.json has no "loom-plugin" keyword${installed.added ? '; it was uninstalled again' : ''}`, {
      hint: 'a plugin has "keywords": ["loom-plugin"] and a "loom" field in its package.json (`loom plugins new NAME` makes one)',
      details: { package: installed.name, spec: spec.spec },
    });
  }
  clearPluginCache();
  const plugin: PluginInfo | undefined = (await list(s)).plugins.find((p) => p.package === installed.name && p.source === 'user');
  // The daemon read the plugins when it started: its skills and workflows (prompts/list) come with the next one.
  return { scope, spec: spec.spec, command: installed.command, installed: true, added: installed.added, ...(plugin === undefined ? {} : { plugin }), restart: await restart(s) };
}

export async function removePlugin(s: PluginCommandScope, id: string): Promise<PluginRemoveResult> {
  checkPluginId(id);
  const found = (await list(s)).plugins;
  const matches = found.filter((p) => p.id === id);
  // A duplicate id: the user-folder copy is the one this command can remove.
  const plugin = matches.find((p) => p.source === 'user') ?? matches[0];
  if (plugin === undefined) throw notFound(id, found);
  if (plugin.source === 'path') {
    throw new LoomError('PLUGIN_NOT_REMOVABLE', `${id} (${plugin.dir}) comes from config plugins.paths, not from an install`, {
      hint: `remove its entry from plugins.paths in .loom/config.yaml (or ${userConfigPath(s.env)})`,
      details: { id, dir: plugin.dir },
    });
  }
  if (plugin.source === 'project') {
    return { id, package: plugin.package, source: 'project', removed: false, command: ['npm', 'uninstall', plugin.package], untrusted_in: null, restart: null };
  }
  const command = await npmUninstallUserPlugin(plugin.package, s.env);
  clearPluginCache();
  const userConfig = userConfigPath(s.env);
  const untrusted = await editing(userConfig, () => removeTrust(userConfig, id));
  return { id, package: plugin.package, source: 'user', removed: true, command, untrusted_in: untrusted ? userConfig : null, restart: await restart(s) };
}

export function newPlugin(o: { cwd: string; name: string; dir?: string; loomVersion: string }): PluginNewResult {
  const r = writePluginScaffold(resolve(o.cwd, o.dir ?? '.'), o.name, o.loomVersion, loomPackageRoot());
  return {
    ...r,
    next_steps: [
      `cd ${shellQuote(r.dir)} && npm install && npm test`,
      `try it in a project: add plugins: { paths: [${JSON.stringify(r.dir)}] } to its .loom/config.yaml, then loom plugins list`,
      `its notifier runs once trusted: loom plugins trust ${r.id}`,
      'publish: npm publish (users then run loom plugins add ' + r.package + ')',
    ],
  };
}
