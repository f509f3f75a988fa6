import { Command, Option } from 'clipanion';
import { unknownCommand } from '../cli-core.js';
import type { LoomCliContext } from '../context.js';

/** `loom help` and `loom help COMMAND...`: the same as `loom --help` and `loom COMMAND... --help`. */
export class HelpWordCommand extends Command<LoomCliContext> {
  static override paths = [['help']];

  static override usage = Command.Usage({
    description: 'Show the commands, or one command in full',
    details: `
      \`loom help\` lists every command; \`loom help COMMAND\` (for example \`loom help workflow run\`) shows one with its options, details and examples: the same as adding \`--help\` to it.
    `,
    examples: [
      ['Every command', '$0 help'],
      ['One command', '$0 help workflow run'],
    ],
  });

  words = Option.Rest();

  async execute(): Promise<number> {
    try {
      this.cli.process([...this.words, '--help'], this.context);
    } catch (error) {
      // An unknown command: its usage error on stderr, exit 2, as `loom no-such-command` does.
      this.context.stderr.write(unknownCommand(this.words, this.cli) ?? this.cli.error(error as Error));
      return 2;
    }
    return this.cli.run([...this.words, '--help']);
  }
}
