import { join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DiscoveredPlugin, PluginProblem } from '../../ports/loom-connector.js';
import { isLoomPlugin, type DefinedPlugin, type NotifierType, type RunnerType } from '../api.js';
import { pluginIsActive } from './discovery.js';
import { ensureLoomLink, loomPackageRoot } from './loom-link.js';

/** What importing one trusted plugin's code gave: its definition, or why there is none. */
export interface LoadedPluginCode {
  id: string;
  /** null: nothing to load (no `main`, untrusted, inactive), or it failed (see problems). */
  plugin: DefinedPlugin | null;
  /** Its notifier types by namespaced name, `<id>/<type>`. */
  notifierTypes: Map<string, NotifierType>;
  /** Its runner types by namespaced name, `<id>/<type>`. */
  runnerTypes: Map<string, RunnerType>;
  problems: PluginProblem[];
}

export interface LoadOptions {
  /** How long an import may take (top-level await included) before it counts as hung. Default 5 s. */
  importTimeoutMs?: number;
}

const DEFAULT_IMPORT_TIMEOUT_MS = 5_000;

// One import per plugin entry per process: Node caches modules anyway, and a hung import is not retried.
const loaded = new Map<string, Promise<LoadedPluginCode>>();

/** Forgets what was loaded (tests). Node's own module cache keeps the modules. */
export function clearLoadedPluginCode(): void {
  loaded.clear();
}

/**
 * Imports the code entry (`loom.main`) of a plugin the user trusts, and checks
 * that its default export is a plugin made by `definePlugin` whose id, when it
 * names one, is the manifest's. Never throws: an import that throws, rejects,
 * hangs past the timeout, or exports something else is a problem of that
 * plugin, and the plugin's code is skipped (its skills and workflows still
 * load). Untrusted and inactive plugins are not imported at all.
 */
export function loadPluginCode(p: DiscoveredPlugin, o: LoadOptions = {}): Promise<LoadedPluginCode> {
  const empty = (problems: PluginProblem[] = []): LoadedPluginCode => ({ id: p.id, plugin: null, notifierTypes: new Map(), runnerTypes: new Map(), problems });
  if (p.main === null || !p.trusted || !pluginIsActive(p)) return Promise.resolve(empty());
  const key = `${p.dir}\0${p.main}`;
  let found = loaded.get(key);
  if (found === undefined) {
    // A plugin of the user folder (<folder>/node_modules/<package>) resolves loom-agents through Loom's link there.
    const installed = join('node_modules', p.package);
    if (p.source === 'user' && p.dir.endsWith(`${sep}${installed}`)) ensureLoomLink(p.dir.slice(0, -installed.length - 1));
    found = importPlugin(p, p.main, o.importTimeoutMs ?? DEFAULT_IMPORT_TIMEOUT_MS).then(
      (plugin) => ({
        id: p.id,
        plugin,
        notifierTypes: new Map((plugin.notifiers ?? []).map((n) => [`${p.id}/${n.type}`, n])),
        runnerTypes: new Map((plugin.runners ?? []).map((r) => [`${p.id}/${r.type}`, r])),
        problems: [],
      }),
      (problem: PluginProblem) => empty([problem]),
    );
    loaded.set(key, found);
  }
  return found;
}

async function importPlugin(p: DiscoveredPlugin, main: string, timeoutMs: number): Promise<DefinedPlugin> {
  const problem = (code: string, message: string, hint: string): PluginProblem => ({ package: p.package, id: p.id, field: 'loom.main', code, message, hint, severity: 'error' });
  let timer: NodeJS.Timeout | undefined;
  let mod: Record<string, unknown>;
  try {
    mod = await Promise.race([
      import(pathToFileURL(main).href) as Promise<Record<string, unknown>>,
      new Promise<never>((_, reject) => {
        // Not unref'd: while an import hangs this timer is all that can end the wait, and a short-lived
        // process (`loom plugins list`) with nothing else pending would otherwise exit silently mid-command.
        // It is cleared as soon as the import settles.
        timer = setTimeout(() => reject(new ImportTimeout()), timeoutMs);
      }),
    ]);
  } catch (e) {
    if (e instanceof ImportTimeout) {
      throw problem('PLUGIN_IMPORT_FAILED', `${p.package}: importing ${main} did not finish within ${timeoutMs / 1000} s; its code is skipped`, 'a plugin entry must not wait at top level (no top-level await on network or timers); report it to the plugin author');
    }
    const missingApi = (e as NodeJS.ErrnoException)?.code === 'ERR_MODULE_NOT_FOUND' && /loom-agents/.test(String((e as Error).message));
    throw problem(
      'PLUGIN_IMPORT_FAILED',
      `${p.package}: importing ${main} failed: ${oneLine(e)}; its code is skipped`,
      missingApi
        ? // loom-agents is not on the npm registry: name the running Loom's folder
          `the plugin imports loom-agents/plugin, which is not installed beside it: install this Loom in the same project (npm i -D loom-agents@file:${loomPackageRoot() ?? 'PATH-OF-YOUR-LOOM'}), or add the plugin with \`loom plugins add\``
        : 'report it to the plugin author, or `loom plugins untrust ' + p.id + '` to stop loading its code',
    );
  } finally {
    clearTimeout(timer);
  }
  const def = mod.default;
  if (!isLoomPlugin(def)) {
    throw problem(
      'PLUGIN_NOT_DEFINED',
      `${p.package}: the default export of ${main} is not a plugin made by definePlugin (got ${def === undefined ? 'no default export' : typeof def})`,
      "the entry must `export default definePlugin({...})`, with definePlugin imported from 'loom-agents/plugin'",
    );
  }
  if (def.id !== undefined && def.id !== p.id) {
    throw problem('PLUGIN_ID_MISMATCH', `${p.package}: definePlugin names the id "${def.id}", but its package.json says "${p.id}"`, 'make the id in definePlugin equal loom.id in package.json (or leave it out of definePlugin)');
  }
  return def;
}

class ImportTimeout extends Error {}

/** An error's message on one line, bounded: it goes into logs and tables. */
export function oneLine(e: unknown, max = 300): string {
  const text = (e instanceof Error ? e.message : String(e)).replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
