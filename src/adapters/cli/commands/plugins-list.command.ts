import { Command } from 'clipanion';
import type { PluginInfo, PluginProblem } from '../../../ports/loom-connector.js';
import { LoomCommand } from '../base-command.js';
import { renderTable } from '../output.js';

/** What a plugin adds: `2 skills, 1 workflow, code`, or why it adds nothing. */
export function contributes(p: PluginInfo): string {
  if (!p.active) return p.errors.some((e) => e.code !== 'PLUGIN_API_MISMATCH') ? 'nothing (broken)' : 'nothing (API does not fit)';
  const parts = [`${p.contributes.skills} skill${p.contributes.skills === 1 ? '' : 's'}`, `${p.contributes.workflows} workflow${p.contributes.workflows === 1 ? '' : 's'}`];
  const types = p.contributes.notifier_types.length;
  const runners = p.contributes.runner_types.length;
  const code = [...(types === 0 ? [] : [`${types} notifier type${types === 1 ? '' : 's'}`]), ...(runners === 0 ? [] : [`${runners} runner${runners === 1 ? '' : 's'}`])];
  if (p.code === 'loaded') parts.push(code.length === 0 ? 'code' : code.join(', '));
  else if (p.code === 'untrusted') parts.push(`code (not run: untrusted: run \`loom plugins trust ${p.id}\`)`);
  else if (p.code === 'failed') parts.push('code (failed to load)');
  return parts.join(', ');
}

export const trustLabel = (p: PluginInfo): string => (p.trusted ? 'trusted' : 'untrusted');

export const problemLine = (p: PluginProblem): string => `${p.severity === 'warning' ? 'warning' : 'error'} ${p.code}: ${p.message}${p.hint === '' ? '' : ` (hint: ${p.hint})`}`;

export class PluginsListCommand extends LoomCommand {
  static override paths = [['plugins', 'list'], ['plugins']];

  static override usage = Command.Usage({
    category: 'Plugins',
    description: 'List the plugins found for the project (package.json dependencies, ~/.loom/plugins, config plugins.paths) and their problems',
    details: `
      A plugin is an npm package with the keyword \`loom-plugin\` and a \`loom\` field in its package.json. Its skills and workflows (named \`<id>/<name>\`) are served when its plugin API range fits this Loom and its manifest has no error; a broken plugin is listed with its errors and skipped.

      Its code (\`loom.main\`: notifier types, runners) is imported only when you trust it (\`loom plugins trust ID\`); listing imports a trusted plugin's code to show its notifier types and runners, and shows how its configured notifiers are doing as the daemon (or \`loom orchestrate\` in server mode) reports them. No code of an untrusted plugin runs.
    `,
    examples: [
      ['Every plugin', '$0 plugins list'],
      ['As JSON', '$0 plugins list --json'],
    ],
  });

  async execute(): Promise<number> {
    const list = await this.context.connector.plugins(this.connectOptions());
    this.emit(list, () => [
      list.plugins.length === 0
        ? 'no plugins: add an npm package with the keyword `loom-plugin` to the project (npm i -D NAME), or a folder to plugins.paths in .loom/config.yaml'
        : renderTable(list.plugins, [
            { header: 'ID', value: (p) => p.id },
            { header: 'PACKAGE', value: (p) => `${p.package}@${p.version}` },
            { header: 'SOURCE', value: (p) => p.source },
            { header: 'API', value: (p) => (p.api_version === null ? '-' : `${p.api_version} ${p.api_fits ? 'fits' : 'does not fit'}`) },
            { header: 'TRUST', value: trustLabel },
            { header: 'CONTRIBUTES', value: contributes },
            { header: 'ERRORS', value: (p) => (p.errors.length === 0 ? '-' : [...new Set(p.errors.map((e) => e.code))].join(', ')) },
          ]),
      ...(list.problems.length === 0 ? [] : ['', `problems (${list.problems.length}):`, ...list.problems.map((p) => `  ${problemLine(p)}`)]),
    ]);
    return 0;
  }
}
