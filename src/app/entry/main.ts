import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EarlyStdio } from '../../adapters/mcp/early-stdio.js';
import type { EarlyDaemon } from '../daemon-launch.js';

const here = dirname(fileURLToPath(import.meta.url));

function packageVersion(): string {
  for (let dir = here, i = 0; i < 6; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'loom-agents') return pkg.version ?? '0.0.0';
    } catch {
      // keep looking upwards
    }
  }
  return '0.0.0';
}

/**
 * `loom ready --json | head -1`: the reader closes the pipe once it has what
 * it wants. Node ignores SIGPIPE, so the next write fails with EPIPE, which
 * unheard would crash the command with a stack trace. The command has done
 * its work by the time it prints, so it stops there, quietly, as a Unix tool
 * killed by SIGPIPE would, and with its own exit code (0 unless it failed).
 * `loom watch` piped into `head` ends the same way.
 */
function stopQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    });
  }
}

/** The `loom` executable: the CLI, or the embedded daemon when started as one. */
export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'daemon' && argv[1] === 'run') {
    // Postgres's WebAssembly compiles (on V8's background threads) while the daemon's code loads.
    const wasm = import('../../adapters/embedded/pglite-wasm.js').then((m) => m.compilePgliteWasm(), () => null);
    const metadata = import('reflect-metadata'); // before any class of the container is defined
    // The database and service code (the start's critical path) loads from the first moment too, not
    // after daemon-main's own imports; runDaemon's imports of the same modules find them loading.
    void metadata
      .then(() => Promise.all([import('../../adapters/embedded/pglite-pool.js'), import('../service-factory.js'), import('../../adapters/postgres/migrator.js'), import('../notifications.js')]))
      .catch(() => undefined);
    await metadata;
    const i = argv.indexOf('--project-dir');
    // Loaded only here: PGlite is large, and only the daemon needs it.
    const { runDaemon } = await import('./daemon-main.js');
    await runDaemon(resolve(i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : process.cwd()), process.env, wasm);
    return -1; // keeps running until idle or stopped
  }
  const plainMcp = isPlainMcp(argv);
  // `loom mcp` in an embedded project starts the project's daemon (the long pole of a cold start) as
  // soon as its small launcher has loaded, alongside the code that answers initialize.
  const reaching = plainMcp ? reachDaemonAtOnce(argv) : undefined;
  // `loom mcp` reads stdin, and answers the client's initialize, before anything heavy loads.
  const early = plainMcp ? new (await import('../../adapters/mcp/early-stdio.js')).EarlyStdio(packageVersion()) : undefined;
  await import('reflect-metadata'); // before any class of the container is defined
  if (early !== undefined) return serveMcpAtOnce(argv, early, reaching!);
  // `loom mcp` speaks on stdout: it stops gracefully when its client's end closes (mcp-main.ts).
  if (argv[0] !== 'mcp') stopQuietlyOnClosedPipe();
  // The CLI and connector load only here, so a starting daemon does not pay for them.
  const [{ loadCli }, { runCli }, { AppConnector }, { startProgress }, { VizGraphPictures }] = await Promise.all([
    import('../../adapters/cli/command-loaders.js'), // the commands of this command line's first word
    import('../../adapters/cli/cli-core.js'),
    import('../connector.js'),
    import('../../adapters/cli/progress.js'),
    // Light: it imports Graphviz (WASM) only when a picture is drawn.
    import('../../adapters/graphviz/viz-graph-pictures.js'),
  ]);
  const connector = new AppConnector({ env: process.env, cwd: process.cwd(), daemonEntry: fileURLToPath(import.meta.url), version: packageVersion() });
  // Colour only in a terminal, and never with NO_COLOR (any value, https://no-color.org) or --no-color (any command).
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length; // after `--` it is a value, not the flag
  const noColorFlag = argv.slice(0, end).includes('--no-color');
  const args = noColorFlag ? [...argv.slice(0, end).filter((a) => a !== '--no-color'), ...argv.slice(end)] : argv;
  const colors = process.stdout.isTTY === true && (process.env.NO_COLOR ?? '') === '' && !noColorFlag;
  const cli = await loadCli(packageVersion(), { enableColors: colors, argv: args });
  const progress = startProgress(args, process.stdout, process.stderr);
  try {
    return await runCli(
      args,
      { stdin: process.stdin, stdout: progress.stdout, stderr: progress.stderr, env: process.env, colorDepth: colors ? 8 : 1, connector, pictures: new VizGraphPictures() },
      cli,
    );
  } finally {
    progress.stop();
  }
}

/**
 * `loom mcp` without the CLI (clipanion and every command, ~0.15 s here): the connector loads and
 * starts opening the project (the daemon, in embedded mode) while the MCP code loads. Errors are
 * printed as the CLI prints them.
 */
async function serveMcpAtOnce(argv: string[], early: EarlyStdio, reaching: Promise<EarlyDaemon | null>): Promise<number> {
  const projectDir = mcpFlag(argv, '--project-dir') ?? process.env.LOOM_PROJECT_DIR;
  const agentId = mcpFlag(argv, '--agent-id');
  try {
    const daemonEntry = fileURLToPath(import.meta.url);
    const earlyDaemon = await reaching;
    const { AppConnector } = await import('../connector.js');
    const connector = new AppConnector({ env: process.env, cwd: process.cwd(), daemonEntry, version: packageVersion(), earlyStdio: early, ...(earlyDaemon === null ? {} : { earlyDaemon }) });
    await connector.serveMcp({ ...(projectDir === undefined || projectDir === '' ? {} : { projectDir }), ...(agentId === undefined ? {} : { agentId }) });
    return 0;
  } catch (e) {
    const { LoomError } = await import('../../domain/errors.js');
    if (LoomError.is(e)) {
      process.stderr.write(`${e.code}: ${e.message}\n${e.hint === undefined ? '' : `hint: ${e.hint}\n`}`);
    } else {
      process.stderr.write(`INTERNAL: ${(e as Error)?.stack ?? String(e)}\n`);
    }
    return 1;
  } finally {
    early.dispose();
  }
}

/** The value of `loom mcp`'s flag (`--name value` or `--name=value`; the last one wins). */
function mcpFlag(argv: string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    if (argv[i] === name) value = argv[++i];
    else if (argv[i]!.startsWith(`${name}=`)) value = argv[i]!.slice(name.length + 1);
  }
  return value;
}

/**
 * An embedded project's daemon, reached (started when none runs) before the connector and the
 * config checks have loaded; null when unsure (daemon-launch.ts), and the store opens the usual way.
 */
function reachDaemonAtOnce(argv: string[]): Promise<EarlyDaemon | null> {
  const projectDir = mcpFlag(argv, '--project-dir') ?? process.env.LOOM_PROJECT_DIR;
  return import('../daemon-launch.js').then(
    ({ reachDaemonEarly }) => reachDaemonEarly({ cwd: process.cwd(), env: process.env, daemonEntry: fileURLToPath(import.meta.url), ...(projectDir === undefined ? {} : { projectDir }) }),
    () => null,
  );
}

/** `loom mcp` with only the flags it takes (anything else, such as --help, goes the usual way). */
function isPlainMcp(argv: string[]): boolean {
  if (argv[0] !== 'mcp') return false;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (/^--(agent-id|project-dir)=./.test(a)) continue;
    if ((a === '--agent-id' || a === '--project-dir') && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-')) i++;
    else return false;
  }
  return true;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`INTERNAL: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
