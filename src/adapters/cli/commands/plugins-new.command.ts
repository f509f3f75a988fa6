import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';

export class PluginsNewCommand extends LoomCommand {
  static override paths = [['plugins', 'new']];

  static override usage = Command.Usage({
    category: 'Plugins',
    description: 'Write a new plugin package, ready to test and publish, to DIR/loom-plugin-NAME',
    details: `
      NAME is the plugin's id (lower-case letters, digits and dashes): its skills and workflows are named \`NAME/...\`. The package has a skill, a workflow, a JSONL notifier and a runner (code: they run once trusted), a vitest test and a README; it is checked as Loom loads plugins before the command succeeds. A folder that exists and is not empty is refused.
    `,
    examples: [
      ['A plugin with id jira-sync in ./loom-plugin-jira-sync', '$0 plugins new jira-sync'],
      ['Somewhere else', '$0 plugins new jira-sync --dir ~/src'],
    ],
  });

  name = Option.String({ name: 'name' });
  dir = Option.String('--dir', { description: 'The folder to create loom-plugin-NAME in (default: the current directory)' });

  async execute(): Promise<number> {
    const r = await this.context.connector.pluginsNew({ name: this.name, ...(this.dir === undefined ? {} : { dir: this.dir }) });
    this.emit(r, () => [`wrote ${r.dir}:`, ...r.files.map((f) => `  ${f}`), '', 'next:', ...r.next_steps.map((s) => `  ${s}`)]);
    return 0;
  }
}
