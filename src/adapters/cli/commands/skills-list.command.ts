import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { renderTable } from '../output.js';

export class SkillsListCommand extends LoomCommand {
  static override paths = [['skills', 'list'], ['skills']];

  static override usage = Command.Usage({
    category: 'Skills',
    description: 'List the skills (builtin, plugins, ~/.loom/skills, .loom/skills) and the broken skill files',
    details: `
      A skill of a later source overrides one of the same name from an earlier source. A broken file is listed with its file, line and reason, and skipped.

      With --task, the skills suggested for that task (by its status or its context.tags) come first, marked with *.
    `,
    examples: [
      ['Every skill', '$0 skills list'],
      ['Those that fit a task first', '$0 skills list --task loom-1a2b3c4d'],
    ],
  });

  task = Option.String('--task', { description: 'Put the skills suggested for this task first' });

  async execute(): Promise<number> {
    const list = await this.withApi((api, project) => api.skills({ project_id: project.project_id, ...(this.task === undefined ? {} : { task_id: this.task }) }));
    this.emit(list, () => [
      list.skills.length === 0
        ? 'no skills: add one with `loom skills new NAME`'
        : renderTable(list.skills, [
            { header: 'NAME', value: (s) => `${s.suggested === true ? '* ' : ''}${s.name}` },
            { header: 'VERSION', value: (s) => s.version },
            { header: 'SOURCE', value: (s) => s.source },
            { header: 'ARGUMENTS', value: (s) => (s.arguments.length === 0 ? '-' : s.arguments.map((a) => (a.required ? a.name : `[${a.name}]`)).join(' ')) },
            { header: 'DESCRIPTION', value: (s) => s.description },
          ]),
      ...(list.problems.length === 0 ? [] : ['', `broken skill files (${list.problems.length}, skipped):`, ...list.problems.map((p) => `  ${p.file}:${p.line}: ${p.reason}`)]),
    ]);
    return 0;
  }
}
