import { Command } from 'clipanion';
import { LoomCommand } from '../base-command.js';

export class DaemonStopCommand extends LoomCommand {
  static override paths = [['daemon', 'stop']];

  static override usage = Command.Usage({
    category: 'Daemon',
    description: "Stop the project's Loom daemon",
    details: `
      Stops the daemon cleanly. Nothing is lost: the next \`loom\` command starts a new one.
    `,
    examples: [['Stop the daemon', '$0 daemon stop']],
  });

  async execute(): Promise<number> {
    const result = await this.context.connector.daemonStop(this.connectOptions());
    this.emit(result, () =>
      result.stopped ? `stopped the daemon of ${result.data_dir}` : `no daemon was running for ${result.data_dir}`,
    );
    return 0;
  }
}
