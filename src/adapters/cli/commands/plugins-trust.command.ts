import { Command, Option } from 'clipanion';
import type { PluginRestart } from '../../../ports/loom-connector.js';
import { LoomCommand } from '../base-command.js';

/** The line saying what happened to the processes that had loaded plugins. */
export const restartLine = (r: PluginRestart | null): string[] => (r === null ? [] : [r.note]);

export class PluginsTrustCommand extends LoomCommand {
  static override paths = [['plugins', 'trust']];

  static override usage = Command.Usage({
    category: 'Plugins',
    description: "Trust a plugin: let its code (notifiers) run, by adding its id to plugins.trust in your config",
    details: `
      Skills and workflows of a plugin are files and are served untrusted; its code (\`loom.main\`) runs only once you trust it. By default the id goes into your own config (\`$LOOM_HOME/config.yaml\`, default ~/.loom/config.yaml): running someone's code is your decision, and a project's committed config should not decide it for everyone who clones it. \`--project\` writes the project's \`.loom/config.yaml\` instead, to share the decision with the team.

      The file keeps its comments and other keys. The project's daemon is stopped so that the next command starts one that loads the plugin; in server mode, restart the \`loom orchestrate\` processes.
    `,
    examples: [
      ['Trust the plugin with id example', '$0 plugins trust example'],
      ["Trust it in the project's config (committed, for the team)", '$0 plugins trust example --project'],
    ],
  });

  id = Option.String({ name: 'id' });
  project = Option.Boolean('--project', false, { description: "Write the project's .loom/config.yaml instead of your own config" });

  async execute(): Promise<number> {
    const r = await this.context.connector.pluginsTrust({ ...this.connectOptions(), id: this.id, project: this.project });
    this.emit(r, () => [
      r.changed ? `trusted ${r.id} (${r.package}) in ${r.config_path}` : `${r.id} is trusted already in ${r.config_path}: nothing changed`,
      r.main === null ? `${r.id} has no code (no loom.main): nothing of it runs` : `its code now runs: ${r.main}`,
      ...restartLine(r.restart),
    ]);
    return 0;
  }
}
