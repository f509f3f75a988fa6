import { join } from 'node:path';
import { LoomError } from '../../domain/errors.js';
import { parseSkillFile, SKILL_NAME_PATTERN } from './skill-file.js';
import { projectSkillsDir } from './skill-sources.js';
import { writeNewFile } from '../catalog/new-file.js';

export function skillSkeleton(name: string): string {
  return `---
name: ${name}
description: One line saying what this skill is for (shown in prompt lists)
version: 1.0.0
arguments:
  - { name: focus, description: What to concentrate on, required: false, default: the whole task }
tags: []
suggested_for: [pending]
---
You are working on {% if task %}task {{ task.id }}: {{ task.title }}{% else %}the project {{ project.name }}{% endif %}.
Focus on {{ focus }}.
{% if task %}
Done when: {{ task.done_when }}
Context: {{ task.context | json }}
{% endif %}{% if dependencies.size > 0 %}
What the tasks before this one produced:
{% for d in dependencies %}- {{ d.title }} ({{ d.status }}): {{ d.output | json }}
{% endfor %}{% endif %}
When you are done, call loom_done with an output that the next task can use.
`;
}

/** Writes a valid skeleton to .loom/skills/NAME.md: a bad name or an existing file is refused. */
export function writeSkillSkeleton(projectDir: string, name: string): { path: string; name: string } {
  if (!new RegExp(SKILL_NAME_PATTERN).test(name)) {
    throw new LoomError('VALIDATION_FAILED', `${JSON.stringify(name.slice(0, 80))} is not a skill name`, {
      hint: 'a skill name matches [a-z][a-z0-9_-]* (at most 64 characters): for example release_checklist',
      details: { name: name.slice(0, 200) },
    });
  }
  const path = join(projectSkillsDir(projectDir), `${name}.md`);
  const text = skillSkeleton(name);
  writeNewFile(path, text, {
    check: () => {
      const r = parseSkillFile({ path, text, source: 'project' });
      return r.ok ? null : `${r.problem.line}: ${r.problem.reason}`;
    },
    showCommand: `loom skills show ${name}`,
  });
  return { path, name };
}
