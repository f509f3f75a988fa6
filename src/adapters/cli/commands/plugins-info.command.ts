import { Command, Option } from 'clipanion';
import { LoomError } from '../../../domain/errors.js';
import { LoomCommand } from '../base-command.js';
import { renderFields } from '../output.js';
import { contributes, problemLine, trustLabel } from './plugins-list.command.js';

export class PluginsInfoCommand extends LoomCommand {
  static override paths = [['plugins', 'info']];

  static override usage = Command.Usage({
    category: 'Plugins',
    description: 'Show one plugin: its package, where it was found, its manifest, what it contributes and its errors',
    examples: [['The plugin with id review', '$0 plugins info review']],
  });

  id = Option.String({ name: 'id' });

  async execute(): Promise<number> {
    const list = await this.context.connector.plugins(this.connectOptions());
    const matches = list.plugins.filter((p) => p.id === this.id);
    if (matches.length === 0) {
      throw new LoomError('PLUGIN_NOT_FOUND', `no plugin with the id "${this.id}"`, {
        hint: list.plugins.length === 0 ? 'no plugins are installed: see `loom plugins list`' : `installed: ${list.plugins.map((p) => p.id).join(', ')}`,
      });
    }
    // A refused duplicate shares the id: the human view shows both, the one in use first; JSON gives that one.
    this.emit(matches[0], () =>
      matches.flatMap((p, i) => [
        ...(i > 0 ? [''] : []),
        `${p.id}  ${p.package}@${p.version}`,
        renderFields([
          ['source', `${p.source} (${p.dir})`],
          ['api', `${p.api_version ?? '-'} (this Loom: ${list.api_version}): ${p.api_fits ? 'fits' : 'does not fit'}`],
          ['trust', p.trusted ? 'trusted' : `${trustLabel(p)}${p.main === null ? '' : `: its code does not run; trust it with plugins.trust: [${p.id}] in .loom/config.yaml`}`],
          ['skills', p.skills ?? undefined],
          ['workflows', p.workflows ?? undefined],
          ['main', p.main ?? undefined],
          ['contributes', contributes(p)],
          ['errors', p.errors.length === 0 ? undefined : p.errors.map(problemLine).join('; ')],
        ]),
      ]),
    );
    return 0;
  }
}
