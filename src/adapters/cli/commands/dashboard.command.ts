import { Command, Option } from 'clipanion';
import { validationFailed } from '../../../domain/errors.js';
import { LoomCommand } from '../base-command.js';
import { printJson } from '../output.js';
import { parseNonNegativeInt } from '../parse.js';

export class DashboardCommand extends LoomCommand {
  static override paths = [['dashboard']];

  static override usage = Command.Usage({
    category: 'Orchestration',
    description: 'A live dashboard of the project in the browser (127.0.0.1, a token made for this run)',
    details: `
      Serves the dashboard on 127.0.0.1 and prints its address, which carries a random token made for this run: the page swaps it for a cookie at once and drops it from the address. The page shows the task graph coloured live, the ready queue, claims with their lease countdown, agents, open escalations (retry, unblock, done, cancel), dead letters (redrive), workflow runs and the event stream. Works in every storage mode. \`loom serve\` offers the same page at \`/dashboard\`, behind its bearer token.

      Opens a browser where a display is found, unless \`--no-open\`. Ctrl-C stops.
    `,
    examples: [
      ['Watch the project', '$0 dashboard'],
      ['On a fixed port, printing the address only', '$0 dashboard --port 7412 --no-open'],
    ],
  });

  port = Option.String('--port', { description: 'Port on 127.0.0.1 (default: any free one)' });
  open = Option.Boolean('--open', true, { description: 'Open a browser where a display is found (--no-open: only print the address)' });

  async execute(): Promise<number> {
    const port = parseNonNegativeInt('--port', this.port);
    if (port !== undefined && port > 65535) throw validationFailed('--port must be at most 65535', { flag: '--port' });
    await this.context.connector.serveDashboard({
      ...this.connectOptions(),
      ...(port === undefined ? {} : { port }),
      open: this.open && !this.json,
      onReady: (info) =>
        this.json
          ? printJson(this.context.stdout, info)
          : this.print(
              `Loom dashboard of ${info.project.name} (${info.project.id}), ${info.mode} mode:`,
              `  ${info.url}`,
              'The address holds a token made for this run: it signs in once, then the page drops it. Ctrl-C stops.',
            ),
      log: (line) => this.context.stderr.write(`[loom dashboard] ${line}\n`),
    });
    return 0;
  }
}
