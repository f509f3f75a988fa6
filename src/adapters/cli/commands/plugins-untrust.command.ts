import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { restartLine } from './plugins-trust.command.js';

export class PluginsUntrustCommand extends LoomCommand {
  static override paths = [['plugins', 'untrust']];

  static override usage = Command.Usage({
    category: 'Plugins',
    description: 'Stop trusting a plugin: remove its id from plugins.trust in your config and the project\'s',
    details: `
      The id is removed from every config file that lists it (yours and the project's; with \`--project\`, the project's only); the files keep their comments and other keys. The project's daemon is stopped so that the next command starts one without the plugin's code.
    `,
    examples: [
      ['Stop running the code of the plugin example', '$0 plugins untrust example'],
      ["Only from the project's config", '$0 plugins untrust example --project'],
    ],
  });

  id = Option.String({ name: 'id' });
  project = Option.Boolean('--project', false, { description: "Only the project's .loom/config.yaml" });

  async execute(): Promise<number> {
    const r = await this.context.connector.pluginsUntrust({ ...this.connectOptions(), id: this.id, project: this.project });
    this.emit(r, () => [
      ...(r.removed_from.length === 0
        ? [`${r.id} is not trusted in ${this.project ? "the project's config" : 'any config file'}: nothing changed`]
        : r.removed_from.map((f) => `removed ${r.id} from plugins.trust in ${f.config_path} (${f.scope})`)),
      ...r.still_trusted_in.map((f) => `${r.id} is still trusted in ${f.config_path} (${f.scope}): \`loom plugins untrust ${r.id}\` removes it there too`),
      ...restartLine(r.restart),
    ]);
    return 0;
  }
}
