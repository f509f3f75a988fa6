import { Command } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { formatDuration, renderFields, timeWithRelative } from '../output.js';

export class DaemonStatusCommand extends LoomCommand {
  static override paths = [['daemon', 'status']];

  static override usage = Command.Usage({
    category: 'Daemon',
    description: "Show the project's Loom daemon",
    details: `
      In embedded mode one daemon per project owns the database; other processes talk to it. It starts on first use and exits when idle. Server mode has no daemon.
    `,
    examples: [['Is the daemon running?', '$0 daemon status']],
  });

  async execute(): Promise<number> {
    const status = await this.context.connector.daemonStatus(this.connectOptions());
    this.emit(status, () =>
      renderFields([
        ['daemon', status.running ? 'running' : 'not running'],
        ['pid', status.pid === undefined ? undefined : String(status.pid)],
        ['started', status.started_at === undefined ? undefined : timeWithRelative(status.started_at)],
        ['uptime', status.uptime_s === undefined ? undefined : formatDuration(status.uptime_s * 1000)],
        ['idle exit', status.idle_timeout_s === undefined ? undefined : `after ${formatDuration(status.idle_timeout_s * 1000)} idle`],
        ['requests', status.requests === undefined ? undefined : String(status.requests)],
        ['data dir', status.data_dir],
        ['note', status.note],
      ]),
    );
    return 0;
  }
}
