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
    context.stderr.write(cli.error(error, { colored }));
    return EXIT_USAGE;
  }
  return cli.run(command, context);
}
