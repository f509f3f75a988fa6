import { Command } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { plural } from '../output.js';

export class MigrateCommand extends LoomCommand {
  static override paths = [['migrate']];

  static override usage = Command.Usage({
    description: 'Apply pending database migrations',
    details: `
      Applies the numbered migrations the database has not seen yet, each in its own transaction. Safe to run at any time and from several processes at once.
    `,
    examples: [['Bring the database up to date', '$0 migrate']],
  });

  async execute(): Promise<number> {
    const result = await this.context.connector.migrate(this.connectOptions());
    this.emit(result, () =>
      result.applied.length === 0
        ? `up to date: schema version ${result.version}`
        : [
            `applied ${plural(result.applied.length, 'migration')}:`,
            ...result.applied.map((m) => `  ${m}`),
            `schema version ${result.version}`,
          ],
    );
    return 0;
  }
}
