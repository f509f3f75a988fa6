import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { renderFields } from '../output.js';

export class SkillsShowCommand extends LoomCommand {
  static override paths = [['skills', 'show']];

  static override usage = Command.Usage({
    category: 'Skills',
    description: 'Show one skill: where it comes from, its arguments and its template',
    examples: [['Show write_spec', '$0 skills show write_spec']],
  });

  name = Option.String({ name: 'name' });

  async execute(): Promise<number> {
    const skill = await this.withApi((api, project) => api.skill({ project_id: project.project_id, name: this.name }));
    this.emit(skill, () => [
      `${skill.name}  ${skill.description}`,
      renderFields([
        ['version', skill.version],
        ['source', `${skill.source} (${skill.path})`],
        ['arguments', skill.arguments.length === 0 ? undefined : skill.arguments.map((a) => `${a.name}${a.required ? ' (required)' : a.default === undefined ? '' : ` (default: ${a.default})`}${a.description === undefined ? '' : `: ${a.description}`}`).join('\n')],
        ['tags', skill.tags.length === 0 ? undefined : skill.tags.join(', ')],
        ['suggested for', skill.suggested_for.length === 0 ? undefined : skill.suggested_for.join(', ')],
        ['content hash', skill.content_hash],
      ]),
      '',
      skill.body,
    ]);
    return 0;
  }
}
