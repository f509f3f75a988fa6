import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { contributes, problemLine } from './plugins-list.command.js';
import { restartLine } from './plugins-trust.command.js';

/** A command as a line to paste into a shell: arguments with spaces or quotes are single-quoted. */
export const shellLine = (argv: readonly string[]): string => argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');

export class PluginsAddCommand extends LoomCommand {
  static override paths = [['plugins', 'add']];

  static override usage = Command.Usage({
    category: 'Plugins',
    description: 'Install a plugin into your plugin folder (~/.loom/plugins) with npm',
    details: `
      SPEC is an npm package name (optionally \`@version\`), a plugin folder (\`./my-plugin\`) or a packed tarball (\`./loom-plugin-x-1.0.0.tgz\`). It is installed with \`npm install --prefix $LOOM_HOME/plugins --ignore-scripts\`: install scripts do not run, because they would run the plugin's code before you trusted it. A folder is copied, not linked (use \`plugins.paths\` in the config to work on a folder in place). A package without the \`loom-plugin\` keyword is uninstalled again.

      A plugin with code prints how to trust it; its skills and workflows are served at once.

      \`--project\` installs nothing: it prints the \`npm i -D\` line to run in the project, whose package.json and lock file are the team's.
    `,
    examples: [
      ['From the npm registry', '$0 plugins add loom-plugin-example'],
      ['A version', '$0 plugins add @acme/loom-plugin-review@1.2.0'],
      ['A folder', '$0 plugins add ./loom-plugin-mine'],
      ['For the whole team: the npm line to run in the project', '$0 plugins add loom-plugin-example --project'],
    ],
  });

  spec = Option.String({ name: 'spec' });
  project = Option.Boolean('--project', false, { description: 'Print the npm line that adds it to the project instead of installing it for you' });

  async execute(): Promise<number> {
    const r = await this.context.connector.pluginsAdd({ ...this.connectOptions(), spec: this.spec, project: this.project });
    this.emit(r, () => {
      if (!r.installed) return ['run in the project (its package.json is the team\'s: Loom does not edit it):', `  ${shellLine(r.command)}`];
      const p = r.plugin;
      if (p === undefined) return [`installed ${r.spec}, but \`loom plugins list\` does not find it: see there`];
      return [
        `${r.added === false ? 'reinstalled' : 'installed'} ${p.id} (${p.package}@${p.version}) into ${p.dir}`,
        `contributes: ${contributes(p)}`,
        ...p.errors.map((e) => `  ${problemLine(e)}`),
        ...(p.main !== null && !p.trusted ? [`untrusted: its code does not run; run \`loom plugins trust ${p.id}\` to allow it`] : []),
        ...restartLine(r.restart ?? null),
      ];
    });
    return 0;
  }
}
