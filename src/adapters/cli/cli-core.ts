import { Builtins, Cli, type CommandClass } from 'clipanion';
import { EXIT_USAGE } from './base-command.js';
import type { LoomCliContext } from './context.js';
import { setTableColors } from './output.js';

/**
 * `--priority #0` is how clipanion shows an option's value in help and usage
 * errors; Loom shows `--priority PRIORITY`, as argparse and most CLIs do.
 */
export function namePlaceholders(text: string): string {
  const named = text.replace(/(--([a-z][a-z0-9-]*))((?: #\d+)+)/g, (_m, flag: string, name: string) => `${flag} ${name.toUpperCase().replace(/-/g, '_')}`);
  if (named === text) return text;
  // The option table was aligned for the short placeholders: align it again (a run of `  --flag VALUE   text` lines).
  const lines = named.split('\n');
  const option = /^( {2})(-\S*(?: [A-Z_]+)?(?:,\s?-\S+(?: [A-Z_]+)?)*)( {2,})(\S.*)$/;
  for (let i = 0; i < lines.length; ) {
    let j = i;
    while (j < lines.length && option.test(lines[j]!)) j++;
    if (j > i) {
      const rows = lines.slice(i, j).map((l) => option.exec(l)!);
      const width = Math.max(...rows.map((m) => m[2]!.length));
      rows.forEach((m, k) => (lines[i + k] = `${m[1]}${m[2]!.padEnd(width)}    ${m[4]}`));
      i = j;
    } else i++;
  }
  return lines.join('\n');
}

class LoomCli extends Cli<LoomCliContext> {
  override usage(...args: Parameters<Cli<LoomCliContext>['usage']>): string {
    return namePlaceholders(super.usage(...args));
  }

  override error(...args: Parameters<Cli<LoomCliContext>['error']>): string {
    return namePlaceholders(super.error(...args));
  }
}

/**
 * A `loom` command line with these commands (and clipanion's help and version
 * options). `enableColors` defaults to clipanion's guess from the process's
 * stdout; pass `false` when output goes elsewhere.
 */
export function cliWith(binaryVersion: string, commands: ReadonlyArray<CommandClass<LoomCliContext>>, opts: { enableColors?: boolean } = {}): Cli<LoomCliContext> {
  const cli = new LoomCli({
    binaryLabel: 'Loom',
    binaryName: 'loom',
    binaryVersion,
    ...(opts.enableColors === undefined ? {} : { enableColors: opts.enableColors }),
  });
  for (const command of commands) cli.register(command);
  cli.register(Builtins.HelpCommand);
  cli.register(Builtins.VersionCommand);
  return cli;
}

/**
 * Runs one `loom` invocation and returns its exit code: 0 ok, 1 a Loom (or
 * unexpected) error, 2 a usage error (unknown command, unknown or malformed
 * option). Never exits the process: the entry point does that.
 */
export async function runCli(argv: string[], context: LoomCliContext, cli: Cli<LoomCliContext>): Promise<number> {
  const colored = cli.enableColors ?? context.colorDepth > 1;
  setTableColors(context.colorDepth > 1);
  // Parse first, so that clipanion's parse errors (which `Cli.run` reports on
  // stdout with exit 1) go to stderr with the usage exit code.
  let command;
  try {
    command = cli.process(argv, context);
  } catch (error) {
    context.stderr.write(unknownCommand(argv, cli) ?? cli.error(error, { colored }));
    return EXIT_USAGE;
  }
  return cli.run(command, context);
}

/**
 * A command line whose first word names no command: clipanion would answer
 * "did you mean one of" with all 70 commands. Loom names the commands spelled
 * like it (at most two letters off, or starting with it) and points to `loom help`.
 */
export function unknownCommand(argv: readonly string[], cli: { definitions(): ReadonlyArray<{ path: string }> }): string | null {
  const first = argv[0];
  if (first === undefined || first.startsWith('-')) return null;
  const words = new Set(cli.definitions().map((d) => d.path.split(' ')[1] ?? '').filter((w) => /^[a-z]/.test(w)));
  if (words.has(first)) return null; // a command, with something wrong after it: clipanion says what
  const typed = first.slice(0, 40).toLowerCase();
  const near = [...words]
    .map((word) => ({ word, distance: typed.length >= 2 && word.startsWith(typed) ? 0 : editDistance(typed, word) }))
    .filter((c) => c.distance <= Math.min(2, Math.floor(typed.length / 2)))
    .sort((a, b) => a.distance - b.distance || a.word.localeCompare(b.word))
    .slice(0, 3)
    .map((c) => `\`loom ${c.word}\``);
  const guess = near.length === 0 ? '' : ` Did you mean ${near.length === 1 ? near[0] : `${near.slice(0, -1).join(', ')} or ${near.at(-1)}`}?`;
  return `Unknown Syntax Error: no command ${JSON.stringify(typed)}.${guess}\n\nRun \`loom help\` to see every command, \`loom help COMMAND\` for one.\n`;
}

/** Letters to insert, delete, change or swap (adjacent) to turn a into b. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
