import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { shellLine } from './plugins-add.command.js';
import { restartLine } from './plugins-trust.command.js';

export class PluginsRemoveCommand extends LoomCommand {
  static override paths = [['plugins', 'remove']];

  static override usage = Command.Usage({
    category: 'Plugins',
    description: 'Uninstall a plugin from your plugin folder (and drop its trust)',
    details: `
      A plugin in your plugin folder (\`loom plugins add\`) is uninstalled with npm and its id dropped from plugins.trust in your config. A project dependency is the team's: the command prints the \`npm uninstall\` line to run. A plugin from \`plugins.paths\` is removed by editing the config.
    `,
    examples: [['Remove the plugin with id example', '$0 plugins remove example']],
  });

  id = Option.String({ name: 'id' });

  async execute(): Promise<number> {
    const r = await this.context.connector.pluginsRemove({ ...this.connectOptions(), id: this.id });
    this.emit(r, () =>
      r.removed
        ? [
            `removed ${r.id} (${r.package}) from your plugin folder`,
            ...(r.untrusted_in === null ? [] : [`and dropped ${r.id} from plugins.trust in ${r.untrusted_in}`]),
            ...restartLine(r.restart),
          ]
        : [`${r.id} (${r.package}) is a dependency of the project: nothing changed. Run in the project:`, `  ${shellLine(r.command)}`],
    );
    return 0;
  }
}
