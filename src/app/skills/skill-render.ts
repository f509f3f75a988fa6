import { LoomError } from '../../domain/errors.js';
import type { JsonObject, TaskStatus } from '../../domain/task.js';
import { liquid, type Skill } from './skill-file.js';

/** What a skill's template can read besides its arguments (see the README, "Skills"). */
export interface SkillVariables {
  task: {
    id: string;
    title: string;
    context: JsonObject;
    done_when: string | null;
    priority: string;
    status: TaskStatus;
    attempts: number;
    max_attempts: number;
    failure_reason: string | null;
  } | null;
  dependencies: Array<{ id: string; title: string; done_when: string | null; status: TaskStatus; output: JsonObject | null }>;
  epic: { id: string; title: string; context: JsonObject; done_when: string | null } | null;
  project: { id: string; name: string };
  graph: { total: number; ready: number; blocked: number; summary: string };
}

/** The arguments a render uses: given ones, then defaults; unknown or missing required ones are refused. */
export function resolveArguments(skill: Skill, given: Record<string, string> = {}): Record<string, string> {
  const declared = new Map(skill.arguments.map((a) => [a.name, a]));
  for (const name of Object.keys(given)) {
    if (!declared.has(name)) {
      throw new LoomError('VALIDATION_FAILED', `skill ${skill.name} has no argument "${name}"`, {
        hint: skill.arguments.length === 0 ? `${skill.name} takes no arguments` : `its arguments are: ${skill.arguments.map((a) => a.name).join(', ')}`,
        details: { skill: skill.name, argument: name },
      });
    }
  }
  const values: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const a of skill.arguments) {
    const v = Object.prototype.hasOwnProperty.call(given, a.name) ? given[a.name] : a.default;
    if (v === undefined || (a.required && v === '')) {
      if (a.required) {
        throw new LoomError('VALIDATION_FAILED', `skill ${skill.name} needs the argument "${a.name}"${a.description === undefined ? '' : ` (${a.description})`}`, {
          hint: `pass ${a.name} (CLI: --arg ${a.name}=...; MCP: arguments.${a.name}); nothing was recorded`,
          details: { skill: skill.name, argument: a.name },
        });
      }
      continue; // absent, not '': in liquid an empty string is truthy, so `{% if arg %}` would print its section
    }
    if (v === '') continue;
    values[a.name] = v;
  }
  return values;
}

/**
 * Renders a skill: values are printed as they are (never rendered again as
 * templates), unknown properties (`constructor`, `__proto__`) print nothing,
 * and a template that runs too long or too large is refused.
 */
export function renderSkillText(skill: Skill, args: Record<string, string>, vars: SkillVariables): string {
  const scope: Record<string, unknown> = { ...args, ...vars };
  try {
    return liquid.renderSync(skill.templates, scope);
  } catch (e) {
    throw new LoomError('VALIDATION_FAILED', `skill ${skill.name} cannot be rendered: ${String((e as Error)?.message ?? e).split('\n')[0]}`, {
      hint: `fix the template in ${skill.path}; nothing was recorded`,
      details: { skill: skill.name, file: skill.path },
    });
  }
}
