import { join } from 'node:path';
import { builtinSkillsDir, DirectorySkillSource } from '../../adapters/skills/directory-skill-source.js';
import { SKILL_PRECEDENCE, type SkillSource } from '../../ports/skill-source.js';
import { pluginSkillSources, type PluginScope } from '../plugins.js';
import { loomHome } from '../project-dir.js';

export { loomHome };

export const userSkillsDir = (env: NodeJS.ProcessEnv): string => join(loomHome(env), 'skills');
export const projectSkillsDir = (projectDir: string): string => join(projectDir, '.loom', 'skills');

/**
 * The standard sources: builtin, the plugins discovered for the project and
 * the user (their skills namespaced `<id>/<name>`), the user's ~/.loom/skills
 * and the project's .loom/skills.
 */
export function standardSkillSources(o: PluginScope = {}): SkillSource[] {
  const sources: SkillSource[] = [new DirectorySkillSource('builtin', builtinSkillsDir(), SKILL_PRECEDENCE.builtin), ...pluginSkillSources(o)];
  if (o.env !== undefined) sources.push(new DirectorySkillSource('user', userSkillsDir(o.env), SKILL_PRECEDENCE.user));
  if (o.projectDir !== undefined && o.projectDir !== null) sources.push(new DirectorySkillSource('project', projectSkillsDir(o.projectDir), SKILL_PRECEDENCE.project));
  return sources;
}
