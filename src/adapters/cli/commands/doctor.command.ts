import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { renderTable } from '../output.js';

export class DoctorCommand extends LoomCommand {
  static override paths = [['doctor']];

  static override usage = Command.Usage({
    description: 'Check the setup: config, project, database, migrations, daemon, Redis',
    details: `
      Prints one line per check with what was found, and a fix for anything that fails. Exits 1 when a check fails.
    `,
    examples: [
      ['Check this project', '$0 doctor'],
      ['Also check the stored task graph (loom fsck)', '$0 doctor --deep'],
    ],
  });

  deep = Option.Boolean('--deep', false, { description: "Also check the stored task graph against Loom's invariants (what `loom fsck` does)" });

  async execute(): Promise<number> {
    const checks = await this.context.connector.doctor({ ...this.connectOptions(), ...(this.deep ? { deep: true } : {}) });
    this.emit(checks, () => [
      renderTable(checks, [
        { header: 'CHECK', value: (c) => c.name },
        { header: 'STATUS', value: (c) => c.status },
        { header: 'DETAIL', value: (c) => c.detail },
      ]),
      ...checks.filter((c) => c.fix !== undefined && c.status !== 'ok').map((c) => `${c.name}: ${c.fix}`),
    ]);
    return checks.some((c) => c.status === 'fail') ? 1 : 0;
  }
}
