import { existsSync, statSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DirectorySkillSource } from '../adapters/skills/directory-skill-source.js';
import { LoomError } from '../domain/errors.js';
import type { PluginCheckProblem, PluginCheckResult } from '../ports/loom-connector.js';
import { SKILL_PRECEDENCE } from '../ports/skill-source.js';
import { PLUGIN_API_VERSION } from '../plugins/api-version.js';
import { clearPluginCache } from '../plugins/host/discovery.js';
import { loomPackageRoot } from '../plugins/host/loom-link.js';
import { listPlugins } from './plugins.js';
import { parseSkillFile } from './skills/skill-file.js';
import { parseWorkflowFile } from './workflows/workflow-file.js';

const YAML = ['.yaml', '.yml'];

/** A module resolve hook: `loom-agents/plugin` that resolves nowhere becomes the running Loom's (its URL comes as `data`). */
const LOOM_AGENTS_HOOK = `
let api;
export function initialize(data) { api = data.api; }
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    if (e && e.code === 'ERR_MODULE_NOT_FOUND' && specifier === 'loom-agents/plugin') return { url: api, shortCircuit: true };
    throw e;
  }
}`;

/**
 * A package checked in its own folder often has no `loom-agents` beside it (its peer dependency): installed, it
 * gets one (\`loom plugins add\` links the running Loom, a project's npm installs the peer). So that the check
 * imports it as it will be imported, this process then resolves `loom-agents/plugin` to the running Loom's.
 * Gives the note to show, or null when loom-agents is there.
 */
function provideLoomAgents(dir: string): string | null {
  try {
    createRequire(join(dir, 'package.json')).resolve('loom-agents/package.json');
    return null;
  } catch {
    // not installed beside the package
  }
  const root = loomPackageRoot();
  const api = root === null ? null : join(root, 'dist', 'src', 'plugins', 'api.js');
  if (api === null || !existsSync(api)) return null; // the import error says what to install
  register(`data:text/javascript,${encodeURIComponent(LOOM_AGENTS_HOOK)}`, { data: { api: pathToFileURL(api).href } });
  return `loom-agents is not installed beside the package, so its code was given this Loom's loom-agents/plugin (${root}), as an install does: \`loom plugins add\` links it, a project's npm installs the peer`;
}

/** A problem as its author reads it: discovery words it for a user who installed the plugin. */
function ownProblem(p: { code: string; message: string; hint: string; severity: 'error' | 'warning' }, dir: string): PluginCheckProblem {
  if (p.code === 'PLUGIN_NOT_A_PLUGIN') {
    return {
      code: p.code,
      message: `${dir} is not a Loom plugin: its package.json has no "loom-plugin" keyword`,
      hint: 'add "keywords": ["loom-plugin"] and a "loom" field ({"apiVersion": "^1.0.0", "id": ..., "skills": ..., "workflows": ..., "main": ...}); see the README, Writing a plugin',
      severity: p.severity,
    };
  }
  if (p.code === 'PLUGIN_IMPORT_FAILED') return { code: p.code, message: p.message, hint: 'fix what importing its main module throws (`node MAIN` shows the stack); a plugin entry may not wait at top level', severity: p.severity };
  return { code: p.code, message: p.message, hint: p.hint, severity: p.severity };
}

/**
 * `loom plugins check [DIR]`: the plugin package in DIR checked as Loom loads
 * plugins, without installing it, for its author (before `npm publish`, in
 * its CI): the manifest and its plugin API range, every skill file and every
 * workflow file with Loom's own parsers (file and line), and with `code`,
 * its code imported as a trusted plugin's is (definePlugin's checks, the
 * notifier and runner types it contributes). No user or project plugin is
 * looked at. Without `code` nothing of the package runs.
 */
export async function checkPluginDir(o: { cwd: string; dir?: string; code: boolean }): Promise<PluginCheckResult> {
  const given = o.dir ?? '.';
  if (given.includes('\u0000')) throw new LoomError('VALIDATION_FAILED', 'the folder contains a NUL character', { hint: 'give the folder of the plugin package (the one with its package.json)' });
  const dir = resolve(o.cwd, given);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new LoomError('VALIDATION_FAILED', `${dir} is not a folder`, { hint: 'give the folder of the plugin package (the one with its package.json), or run it there', details: { dir } });
  }
  if (!existsSync(join(dir, 'package.json'))) {
    throw new LoomError('VALIDATION_FAILED', `${dir} has no package.json`, { hint: 'a plugin is an npm package: run it in the folder with its package.json (`loom plugins new NAME` writes one)', details: { dir } });
  }
  clearPluginCache();
  // Discovered as a `plugins.paths` folder of a scope with no project and no user folder: this package alone.
  const first = await listPlugins({ projectDir: null, plugins: { paths: [dir], trust: [] } });
  const found = first.plugins[0];
  const problems: PluginCheckProblem[] = first.problems.map((p) => ownProblem(p, dir));
  if (found === undefined) {
    // discovery reports a package without the keyword; should it ever not, say so all the same
    if (problems.length === 0) problems.push(ownProblem({ code: 'PLUGIN_NOT_A_PLUGIN', message: '', hint: '', severity: 'error' }, dir));
    return { dir, package: null, id: null, version: null, api_version: null, host_api_version: PLUGIN_API_VERSION, api_fits: false, code: 'not_checked', skills: [], workflows: [], notifier_types: [], runner_types: [], problems, notes: [], ok: false };
  }
  const notes: string[] = [];
  let info = found;
  if (o.code && found.main !== null) {
    const provided = provideLoomAgents(dir);
    if (provided !== null) notes.push(provided);
    info = (await listPlugins({ projectDir: null, plugins: { paths: [dir], trust: [found.id] } })).plugins[0]!;
  }
  if (info !== found) {
    const seen = new Set(problems.map((p) => `${p.code}\u0000${p.message}`));
    for (const p of info.errors) if (!seen.has(`${p.code}\u0000${p.message}`)) problems.push(ownProblem(p, dir));
  }
  const at = (file: string) => relative(dir, file) || file;
  const skills: string[] = [];
  if (found.skills !== null) {
    for (const file of await new DirectorySkillSource(`plugin:${found.id}`, found.skills, SKILL_PRECEDENCE.plugin, found.id).list()) {
      const s = parseSkillFile(file, found.id);
      if (s.ok) skills.push(s.skill.name);
      else problems.push({ code: 'SKILL_INVALID', message: s.problem.reason, hint: 'fix the skill file (its front matter and template: see the README, Skills); Loom skips a skill that does not parse', severity: 'error', file: at(s.problem.file), line: s.problem.line });
    }
  }
  const workflows: string[] = [];
  if (found.workflows !== null) {
    for (const file of await new DirectorySkillSource(`plugin:${found.id}`, found.workflows, SKILL_PRECEDENCE.plugin, found.id, YAML).list()) {
      const w = parseWorkflowFile(file, found.id);
      if (w.ok) workflows.push(w.workflow.name);
      else problems.push({ code: 'WORKFLOW_INVALID', message: w.problem.reason, hint: 'fix the workflow file (see the README, Workflows: the file format); Loom skips a workflow that does not parse', severity: 'error', file: at(w.problem.file), line: w.problem.line });
    }
  }
  const code: PluginCheckResult['code'] = found.main === null ? 'none' : !o.code ? 'not_checked' : info.code === 'loaded' ? 'loaded' : 'failed';
  return {
    dir,
    package: found.package,
    id: found.id,
    version: found.version,
    api_version: found.api_version,
    host_api_version: PLUGIN_API_VERSION,
    api_fits: found.api_fits,
    code,
    skills: skills.sort(),
    workflows: workflows.sort(),
    notifier_types: info.contributes.notifier_types.map((t) => t.type),
    runner_types: info.contributes.runner_types.map((t) => t.type),
    problems,
    notes,
    ok: !problems.some((p) => p.severity === 'error'),
  };
}
