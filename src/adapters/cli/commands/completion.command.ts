import { Command, Option, UsageError } from 'clipanion';
import { complete, completionCommands, completionScript, COMPLETION_SHELLS, type CompletionShell } from '../completion.js';
import type { LoomCliContext } from '../context.js';

/** `loom completion bash|zsh|fish`: the script to source. */
export class CompletionCommand extends Command<LoomCliContext> {
  static override paths = [['completion']];

  static override usage = Command.Usage({
    description: 'Print the shell completion script for bash, zsh or fish',
    details: `
      The script completes commands and options by asking \`loom\` itself, so it keeps up with new commands without being written again.
    `,
    examples: [
      ['bash (in ~/.bashrc)', 'source <($0 completion bash)'],
      ['zsh (in ~/.zshrc, after compinit)', 'source <($0 completion zsh)'],
      ['fish', '$0 completion fish > ~/.config/fish/completions/loom.fish'],
    ],
  });

  shell = Option.String({ name: 'shell' });

  async execute(): Promise<number> {
    if (!(COMPLETION_SHELLS as readonly string[]).includes(this.shell)) {
      this.context.stderr.write(this.cli.error(new UsageError(`no completion for ${JSON.stringify(this.shell.slice(0, 40))}: choose ${COMPLETION_SHELLS.join(', ')}`)));
      return 2;
    }
    this.context.stdout.write(completionScript(this.shell as CompletionShell));
    return 0;
  }
}

/** `loom __complete WORDS...`: the candidates the completion scripts show, one per line (not listed in help). */
export class CompleteWordsCommand extends Command<LoomCliContext> {
  static override paths = [['__complete']];

  // Proxy: every word as typed, `--pri` included (Rest would parse it as an option of this command).
  words = Option.Proxy();

  async execute(): Promise<number> {
    const words = this.words.length === 0 ? [''] : this.words;
    const candidates = complete(completionCommands(this.cli.definitions()), words);
    if (candidates.length > 0) this.context.stdout.write(`${candidates.join('\n')}\n`);
    return 0;
  }
}
