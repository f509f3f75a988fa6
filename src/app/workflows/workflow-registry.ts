import { join } from 'node:path';
import { builtinWorkflowsDir, DirectorySkillSource } from '../../adapters/skills/directory-skill-source.js';
import { LoomError } from '../../domain/errors.js';
import { SKILL_PRECEDENCE } from '../../ports/skill-source.js';
import type { WorkflowSource } from '../../ports/workflow-source.js';
import { FileCatalog, type Catalog } from '../catalog/file-catalog.js';
import { SKILL_REF_PATTERN } from '../skills/skill-file.js';
import { loomHome } from '../skills/skill-sources.js';
import { pluginWorkflowSources, type PluginScope } from '../plugins.js';
import { parseWorkflowFile, type Workflow } from './workflow-file.js';

const YAML = ['.yaml', '.yml'];
export const projectWorkflowsDir = (projectDir: string): string => join(projectDir, '.loom', 'workflows');

/** The standard workflow sources: builtin, the plugins' (namespaced `<id>/<name>`), the user's ~/.loom/workflows and the project's .loom/workflows. */
export function standardWorkflowSources(o: PluginScope = {}): WorkflowSource[] {
  const sources: WorkflowSource[] = [new DirectorySkillSource('builtin', builtinWorkflowsDir(), SKILL_PRECEDENCE.builtin, undefined, YAML), ...pluginWorkflowSources(o)];
  if (o.env !== undefined) sources.push(new DirectorySkillSource('user', join(loomHome(o.env), 'workflows'), SKILL_PRECEDENCE.user, undefined, YAML));
  if (o.projectDir !== undefined && o.projectDir !== null) {
    sources.push(new DirectorySkillSource('project', projectWorkflowsDir(o.projectDir), SKILL_PRECEDENCE.project, undefined, YAML));
  }
  return sources;
}

const NAME = new RegExp(SKILL_REF_PATTERN);

/** The workflows of every source, later winning by name; a broken file is reported (file:line: reason) and skipped. */
export class WorkflowRegistry {
  private readonly files: FileCatalog<Workflow>;

  constructor(sources: () => readonly WorkflowSource[]) {
    this.files = new FileCatalog<Workflow>(
      sources,
      (file, namespace) => {
        const r = parseWorkflowFile(file, namespace);
        return r.ok ? { ok: true, value: r.workflow } : r;
      },
      'workflow',
    );
  }

  catalog(): Promise<Catalog<Workflow>> {
    return this.files.catalog();
  }

  async get(name: string): Promise<Workflow> {
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new LoomError('VALIDATION_FAILED', `${JSON.stringify(String(name).slice(0, 80))} is not a workflow name`, {
        hint: 'a workflow name matches [a-z][a-z0-9_-]* (at most 64 characters), or <plugin>/<workflow>; list them with `loom workflow list`',
        details: { name: String(name).slice(0, 200) },
      });
    }
    const { items, problems } = await this.catalog();
    const wf = items.find((w) => w.name === name);
    if (wf !== undefined) return wf;
    const broken = problems.find((p) => /\.ya?ml$/.test(p.file) && p.file.replace(/\\/g, '/').replace(/\.ya?ml$/, '').endsWith(`/${name.split('/').pop()}`));
    throw new LoomError('WORKFLOW_NOT_FOUND', `no workflow named ${name}`, {
      hint:
        broken !== undefined
          ? `${broken.file}:${broken.line}: ${broken.reason}`
          : `list the workflows with \`loom workflow list\`; add one with \`loom workflow new ${name.includes('/') ? 'NAME' : name}\``,
      details: { name },
    });
  }
}
