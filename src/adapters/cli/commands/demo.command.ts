import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';

export class DemoCommand extends LoomCommand {
  static override paths = [['demo']];

  static override usage = Command.Usage({
    category: 'Agents',
    description: 'Watch three agents work a small project together',
    details: `
      On the embedded default, in a temporary directory (or DIR): a planner lays out an epic with seven dependent steps, then three simulated agents, each a real MCP client of its own \`loom mcp\` process, claim, heartbeat, message and complete them concurrently in dependency order. Prints a live log and a summary; exits 0 once the whole graph is done.
    `,
    examples: [
      ['Run the demo in a temporary directory', '$0 demo'],
      ['Run it in a directory you keep, to explore afterwards', '$0 demo ./loom-demo'],
    ],
  });

  dir = Option.String({ name: 'dir', required: false });

  async execute(): Promise<number> {
    const result = await this.context.connector.runDemo({
      ...(this.dir === undefined ? {} : { dir: this.dir }),
      out: (line) => this.context.stdout.write(`${line}\n`),
    });
    if (this.json) this.emit(result, () => '');
    if (!result.complete) this.context.stderr.write('the demo graph did not complete\n');
    return result.complete ? 0 : 1;
  }
}
