import { readdirSync } from 'node:fs';
import { DirectorySkillSource } from '../adapters/skills/directory-skill-source.js';
import type { NotifiersConfigFile } from '../adapters/notifiers/config-schema.js';
import type { PluginInfo, PluginList, PluginNotifierState } from '../ports/loom-connector.js';
import { SKILL_PRECEDENCE, type SkillSource } from '../ports/skill-source.js';
import type { WorkflowSource } from '../ports/workflow-source.js';
import { PLUGIN_API_VERSION } from '../plugins/api-version.js';
import type { NotifierType, RunnerType } from '../plugins/api.js';
import { discoverPlugins, pluginIsActive } from '../plugins/host/discovery.js';
import { loadAllPluginCode, resolvePluginNotifier } from '../plugins/host/notifiers.js';
import { resolvePluginRunner } from '../plugins/host/runners.js';
import { readPluginStatus } from './plugin-status.js';

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

/**
 * `loom plugins list`: every discovered plugin with what it contributes, and
 * every problem. Skills and workflows are counted from the files; a trusted
 * plugin's code is imported (once per process) to see its notifier types, but
 * no factory runs; configured plugin notifiers are checked (type, trust,
 * options); and what the process owning the notifiers reported (started,
 * failing, hung) is merged in.
 */
export async function listPlugins(o: PluginScope & { notifications?: NotifiersConfigFile }): Promise<PluginList> {
  const { plugins, problems } = discoverFor(o);
  const count = (dir: string | null, ext: readonly string[]): number => {
    if (dir === null) return 0;
    try {
      return readdirSync(dir).filter((n) => ext.some((e) => n.endsWith(e))).length;
    } catch {
      return 0;
    }
  };
  const code = await loadAllPluginCode(plugins);
  const configured = (o.notifications?.notifiers ?? []).filter((n) => n.type !== 'console' && n.type !== 'webhook').map(({ name, type, ...options }) => ({ name, type, options }));
  const runtime = o.projectDir === undefined || o.projectDir === null ? null : readPluginStatus(o.projectDir);
  const infos: PluginInfo[] = plugins.map((p) => {
    const active = pluginIsActive(p);
    const duplicate = p.errors.some((e) => e.code === 'PLUGIN_DUPLICATE_ID');
    const loaded = duplicate ? undefined : code.get(p.id);
    const codeProblems = loaded?.problems ?? [];
    const state: PluginInfo['code'] = p.main === null ? 'none' : !active ? 'not_used' : !p.trusted ? 'untrusted' : loaded?.plugin != null ? 'loaded' : 'failed';
    const described = (types: ReadonlyMap<string, NotifierType | RunnerType> | undefined) =>
      [...(types ?? new Map<string, NotifierType>()).entries()].map(([type, t]) => ({ type, description: t.description, options_schema: t.optionsSchema as Record<string, unknown> }));
    const notifierTypes = described(loaded?.notifierTypes);
    const runnerTypes = described(loaded?.runnerTypes);
    const errors = [...p.errors, ...codeProblems];
    problems.push(...codeProblems);
    const notifiers: PluginNotifierState[] = [];
    for (const c of duplicate ? [] : configured.filter((n) => n.type.startsWith(`${p.id}/`))) {
      const reported = runtime?.notifiers.find((n) => n.name === c.name && n.type === c.type);
      const resolved = resolvePluginNotifier(c, plugins, code);
      let problem = 'problem' in resolved ? resolved.problem : null;
      if (reported !== undefined && reported.problem !== null && problem === null) problem = reported.problem;
      if (problem !== null) {
        problems.push(problem);
        if (problem.severity === 'error') errors.push(problem);
      }
      notifiers.push({
        name: c.name,
        type: c.type,
        state: 'problem' in resolved ? 'not_startable' : (reported?.state ?? 'configured'),
        failures: reported?.failures ?? 0,
        hangs: reported?.hangs ?? 0,
        last_error: reported?.last_error ?? null,
      });
    }
    return {
      ...p,
      errors,
      active,
      code: state,
      contributes: active
        ? { skills: count(p.skills, ['.md']), workflows: count(p.workflows, YAML), code: p.main !== null, notifier_types: notifierTypes, runner_types: runnerTypes }
        : { skills: 0, workflows: 0, code: false, notifier_types: [], runner_types: [] },
      notifiers,
    };
  });
  // A configured plugin notifier whose plugin is not installed at all.
  for (const c of configured) {
    if (plugins.some((p) => c.type.startsWith(`${p.id}/`))) continue;
    const resolved = resolvePluginNotifier(c, plugins, code);
    if ('problem' in resolved) problems.push(resolved.problem);
  }
  return { api_version: PLUGIN_API_VERSION, runtime_reported_at: runtime?.updated_at ?? null, plugins: infos, problems };
}

/**
 * A plugin's runner type by name (`<plugin-id>/<type>`), its options checked:
 * the trusted plugins' code is imported (once per process) to find it.
 */
export async function pluginRunner(o: PluginScope, name: string, options: Record<string, unknown>): Promise<ReturnType<typeof resolvePluginRunner>> {
  const { plugins } = discoverFor(o);
  return resolvePluginRunner(name, options, plugins, await loadAllPluginCode(plugins));
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
