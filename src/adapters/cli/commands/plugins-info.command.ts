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
          ['trust', p.trusted ? 'trusted' : `${trustLabel(p)}${p.main === null ? '' : `: its code does not run; run \`loom plugins trust ${p.id}\``}`],
          ['skills', p.skills ?? undefined],
          ['workflows', p.workflows ?? undefined],
          ['main', p.main ?? undefined],
          ['contributes', contributes(p)],
          ...p.contributes.notifier_types.map((t): [string, string] => [`notifier type ${t.type}`, `${t.description}; options: ${describeOptions(t.options_schema)}`]),
          ...p.contributes.runner_types.map((t): [string, string] => [`runner ${t.type}`, `${t.description}; options: ${describeOptions(t.options_schema)}; run: loom orchestrate --runner ${t.type}`]),
          ...p.notifiers.map((n): [string, string] => [
            `notifier ${n.name}`,
            `${n.type}: ${n.state}${n.failures + n.hangs === 0 ? '' : ` (${n.failures} failed, ${n.hangs} hung calls${n.last_error === null ? '' : `; last: ${n.last_error}`})`}`,
          ]),
          ['errors', p.errors.length === 0 ? undefined : p.errors.map(problemLine).join('; ')],
        ]),
      ]),
    );
    return 0;
  }
}

/** `path (string, required), max_queued (integer)`: the top-level options of a notifier type's schema. */
function describeOptions(schema: Record<string, unknown>): string {
  const props = schema.properties;
  if (typeof props !== 'object' || props === null) return 'see its schema (--json)';
  const required = new Set(Array.isArray(schema.required) ? (schema.required as unknown[]).map(String) : []);
  const list = Object.entries(props as Record<string, unknown>).map(([k, v]) => {
    const type = typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string' ? (v as { type: string }).type : 'any';
    return `${k} (${type}${required.has(k) ? ', required' : ''})`;
  });
  return list.length === 0 ? 'none' : list.join(', ');
}
