import { readdirSync } from 'node:fs';
import { DirectorySkillSource } from '../adapters/skills/directory-skill-source.js';
import type { PluginInfo, PluginList } from '../ports/loom-connector.js';
import { SKILL_PRECEDENCE, type SkillSource } from '../ports/skill-source.js';
import type { WorkflowSource } from '../ports/workflow-source.js';
import { PLUGIN_API_VERSION } from '../plugins/api-version.js';
import { discoverPlugins, pluginIsActive } from '../plugins/host/discovery.js';

/** Config `plugins`: extra plugin package folders, and the ids whose code may run. */
export interface PluginSettings {
  paths: string[];
  trust: string[];
}

export interface PluginScope {
  projectDir?: string | null;
  env?: NodeJS.ProcessEnv;
  plugins?: PluginSettings;
}

const YAML = ['.yaml', '.yml'];

const discoverFor = (o: PluginScope) =>
  discoverPlugins({
    projectDir: o.projectDir ?? null,
    ...(o.env === undefined ? {} : { env: o.env }),
    paths: o.plugins?.paths ?? [],
    trust: o.plugins?.trust ?? [],
  });

/** Whether a scope can have plugins at all: a project, or a user folder. */
const hasScope = (o: PluginScope): boolean => (o.projectDir !== undefined && o.projectDir !== null) || o.env !== undefined;

/**
 * The skill sources of the usable plugins (API fits, no error): one folder
 * each, id `plugin:<id>`, namespaced by the plugin id. No plugin code runs.
 */
export function pluginSkillSources(o: PluginScope): SkillSource[] {
  if (!hasScope(o)) return [];
  return discoverFor(o)
    .plugins.filter((p) => pluginIsActive(p) && p.skills !== null)
    .map((p) => new DirectorySkillSource(`plugin:${p.id}`, p.skills!, SKILL_PRECEDENCE.plugin, p.id));
}

/** The workflow sources of the usable plugins, as for skills. */
export function pluginWorkflowSources(o: PluginScope): WorkflowSource[] {
  if (!hasScope(o)) return [];
  return discoverFor(o)
    .plugins.filter((p) => pluginIsActive(p) && p.workflows !== null)
    .map((p) => new DirectorySkillSource(`plugin:${p.id}`, p.workflows!, SKILL_PRECEDENCE.plugin, p.id, YAML));
}

/** `loom plugins list`: every discovered plugin with what it contributes (files counted, nothing run), and every problem. */
export function listPlugins(o: PluginScope): PluginList {
  const { plugins, problems } = discoverFor(o);
  const count = (dir: string | null, ext: readonly string[]): number => {
    if (dir === null) return 0;
    try {
      return readdirSync(dir).filter((n) => ext.some((e) => n.endsWith(e))).length;
    } catch {
      return 0;
    }
  };
  const infos: PluginInfo[] = plugins.map((p) => {
    const active = pluginIsActive(p);
    return {
      ...p,
      active,
      contributes: active ? { skills: count(p.skills, ['.md']), workflows: count(p.workflows, YAML), code: p.main !== null } : { skills: 0, workflows: 0, code: false },
    };
  });
  return { api_version: PLUGIN_API_VERSION, plugins: infos, problems };
}

/** One log line for a process that serves plugin content: what was found and every problem (null: no plugins, no problems). */
export function pluginsLogLine(o: PluginScope): string | null {
  if (!hasScope(o)) return null;
  const { plugins, problems } = discoverFor(o);
  if (plugins.length === 0 && problems.length === 0) return null;
  const active = plugins.filter(pluginIsActive).map((p) => p.id);
  const head = `plugins: ${active.length === 0 ? 'none in use' : active.join(', ')}`;
  return problems.length === 0 ? head : `${head}; ${problems.length} problem${problems.length === 1 ? '' : 's'}: ${problems.map((p) => `${p.code} ${p.message}`).join('; ')}`;
}
