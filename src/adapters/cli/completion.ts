/**
 * Shell completion for bash, zsh and fish. Clipanion has none, and the
 * libraries that do (tabtab, omelette) want to own the command line parser
 * or are unmaintained; the scripts below are a few lines each and ask Loom
 * itself (`loom __complete WORDS...`) for candidates, so they follow every
 * command and option without being regenerated.
 */

/** What a registered command offers: its words (`dep add`) and its option flags. */
export interface CompletionCommand {
  words: string[];
  options: string[];
  description: string;
}

/** From clipanion's definitions (`path`: `loom dep add <id> <dependency> ...`; options: `--priority #0`, `-q,--quiet`). */
export function completionCommands(definitions: ReadonlyArray<{ path: string; description?: string | undefined; options: ReadonlyArray<{ definition: string }> }>): CompletionCommand[] {
  return definitions.map((d) => ({
    words: d.path.split(' ').slice(1).filter((w, i, all) => !/^[<[-]/.test(w) && all.slice(0, i).every((x) => !/^[<[-]/.test(x))),
    options: d.options.flatMap((o) => (o.definition.split(' ')[0] ?? '').split(',')).filter((f) => f.startsWith('--')),
    description: d.description ?? '',
  }));
}

/**
 * The candidates for the last of `words` (the word being typed, maybe empty),
 * given the words before it (after `loom`): the next command word, or, for a
 * word starting with `-`, the options of the command typed so far.
 */
export function complete(commands: readonly CompletionCommand[], words: readonly string[]): string[] {
  const current = words.at(-1) ?? '';
  const typed = words.slice(0, -1).filter((w) => !w.startsWith('-'));
  if (current.startsWith('-')) {
    // The command whose words are the longest prefix of what was typed.
    const command = commands
      .filter((c) => c.words.length > 0 && c.words.every((w, i) => typed[i] === w))
      .sort((a, b) => b.words.length - a.words.length)[0];
    const options = command === undefined ? ['--help', '--version'] : [...command.options, '--help'];
    return [...new Set(options)].filter((o) => o.startsWith(current)).sort();
  }
  const next = new Set<string>();
  for (const c of commands) {
    if (c.words.length <= typed.length) continue;
    if (!typed.every((w, i) => c.words[i] === w)) continue;
    const word = c.words[typed.length]!;
    if (word.startsWith(current)) next.add(word);
  }
  return [...next].sort();
}

export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** The script to source: it calls `loom __complete` with the words typed so far. */
export function completionScript(shell: CompletionShell): string {
  switch (shell) {
    case 'bash':
      return [
        '# loom completion for bash: add to ~/.bashrc:  source <(loom completion bash)',
        '_loom_complete() {',
        '  local IFS=$\'\\n\'',
        '  COMPREPLY=($(loom __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))',
        '}',
        'complete -o default -F _loom_complete loom',
        '',
      ].join('\n');
    case 'zsh':
      return [
        '# loom completion for zsh: add to ~/.zshrc:  source <(loom completion zsh)',
        '_loom() {',
        '  local -a candidates',
        '  candidates=("${(@f)$(loom __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")',
        '  compadd -a candidates',
        '}',
        'compdef _loom loom',
        '',
      ].join('\n');
    case 'fish':
      return [
        '# loom completion for fish: loom completion fish > ~/.config/fish/completions/loom.fish',
        'complete -c loom -f -a \'(loom __complete (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null)\'',
        '',
      ].join('\n');
  }
}
