import { Command, Option } from 'clipanion';
import type { PluginCheckResult } from '../../../ports/loom-connector.js';
import { LoomCommand } from '../base-command.js';
import { indent, plural } from '../output.js';

export class PluginsCheckCommand extends LoomCommand {
  static override paths = [['plugins', 'check']];

  static override usage = Command.Usage({
    category: 'Plugins',
    description: 'Check a plugin package as Loom loads it, before publishing or installing it',
    details: `
      Checks the package in DIR (default: the current directory) the way Loom loads a plugin, without installing it or looking at any other plugin: the \`loom-plugin\` keyword and the \`loom\` field, whether its plugin API range admits this Loom, every skill file and every workflow file with Loom's own parsers (each problem with its file and line).

      \`--code\` also imports its code (\`loom.main\`) as a trusted plugin's is imported: \`definePlugin\`'s checks, and the notifier and runner types it contributes. That runs the package's code, so give it only for your own package or one you would trust; without it nothing of the package runs.

      Exits 0 when nothing is wrong (warnings allowed), 1 otherwise. A plugin's own tests or CI can run it: \`npx loom plugins check --code\`.
    `,
    examples: [
      ['The package in this folder', '$0 plugins check'],
      ['Another folder, its code too', '$0 plugins check ../loom-plugin-jira-sync --code'],
      ['As JSON', '$0 plugins check --json'],
    ],
  });

  dir = Option.String({ name: 'dir', required: false });
  code = Option.Boolean('--code', false, { description: "Also import the package's code (runs it), as Loom does for a trusted plugin" });

  async execute(): Promise<number> {
    const r = await this.context.connector.pluginsCheck({ ...(this.dir === undefined ? {} : { dir: this.dir }), code: this.code });
    this.emit(r, () => render(r));
    return r.ok ? 0 : 1;
  }
}

function render(r: PluginCheckResult): string[] {
  const lines = [r.package === null ? `${r.dir}: not a Loom plugin` : `${r.package}${r.version === null ? '' : ` ${r.version}`} (id ${r.id}) in ${r.dir}`];
  if (r.package !== null) {
    lines.push(
      `plugin API  ${r.api_version ?? '(none)'}: ${r.api_fits ? `admits this Loom's ${r.host_api_version}` : `does not admit this Loom's ${r.host_api_version}`}`,
      `skills      ${r.skills.length === 0 ? 'none' : r.skills.join(', ')}`,
      `workflows   ${r.workflows.length === 0 ? 'none' : r.workflows.join(', ')}`,
      `code        ${
        r.code === 'none'
          ? 'none (no loom.main)'
          : r.code === 'not_checked'
            ? 'not imported (--code imports it)'
            : r.code === 'failed'
              ? 'failed to load (see the problems)'
              : `loaded: ${plural(r.notifier_types.length, 'notifier type')}${r.notifier_types.length > 0 ? ` (${r.notifier_types.join(', ')})` : ''}, ${plural(r.runner_types.length, 'runner type')}${r.runner_types.length > 0 ? ` (${r.runner_types.join(', ')})` : ''}`
      }`,
    );
  }
  if (r.notes.length > 0) lines.push('', ...r.notes.map((n) => `note: ${n}`));
  if (r.problems.length > 0) {
    lines.push('', 'problems');
    for (const p of r.problems) {
      const where = p.file === undefined ? '' : `${p.file}${p.line === undefined ? '' : `:${p.line}`}: `;
      lines.push(indent(`${p.severity === 'warning' ? 'warning ' : ''}${p.code}: ${where}${p.message}\n  hint: ${p.hint}`));
    }
  }
  lines.push('', r.ok ? 'ok: Loom loads it as it is' : `${plural(r.problems.filter((p) => p.severity === 'error').length, 'problem')} to fix before Loom can load all of it`);
  return lines;
}
