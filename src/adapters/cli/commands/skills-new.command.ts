import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';

export class SkillsNewCommand extends LoomCommand {
  static override paths = [['skills', 'new']];

  static override usage = Command.Usage({
    category: 'Skills',
    description: 'Write a new skill skeleton to .loom/skills/NAME.md',
    details: 'The skeleton is a valid skill: edit its description, arguments and template. An existing file is never overwritten.',
    examples: [['A team checklist', '$0 skills new release_checklist']],
  });

  name = Option.String({ name: 'name' });

  async execute(): Promise<number> {
    const r = await this.context.connector.newSkill({ ...this.connectOptions(), name: this.name });
    this.emit(r, () => [`wrote ${r.path}`, `edit it, then: loom skills show ${this.name}`]);
    return 0;
  }
}
