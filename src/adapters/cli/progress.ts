import type { Writable } from 'node:stream';

/** Commands that stream their own output or speak a protocol: no progress line. */
const STREAMING = new Set(['mcp', 'watch', 'dashboard', 'orchestrate', 'serve', 'demo', 'up', 'down', 'daemon', 'completion', '__complete', 'help']);

export interface Progress {
  /** The streams to hand the command: a write clears the progress line first. */
  stdout: Writable;
  stderr: Writable;
  stop(): void;
}

/**
 * A progress line on a terminal's stderr for a command that takes more than
 * `afterMs` (a first `loom init` starting the embedded database, a daemon
 * restart): `loom init: starting the embedded database... 3s`, updated each
 * second and erased before the command prints anything, or when it ends.
 * Nothing at all when stderr is not a terminal, or for commands that stream.
 */
export function startProgress(argv: readonly string[], stdout: Writable & { isTTY?: boolean }, stderr: Writable & { isTTY?: boolean }, afterMs = 1000): Progress {
  const command = argv.find((a) => !a.startsWith('-'));
  if (stderr.isTTY !== true || command === undefined || STREAMING.has(command) || argv.includes('--json') || argv.includes('--help')) {
    return { stdout, stderr, stop: () => {} };
  }
  const what = command === 'init' ? 'starting the project (the first time sets up the embedded database: a few seconds)' : 'working';
  const started = Date.now();
  let shown = false;
  let timer: NodeJS.Timeout | undefined;
  const draw = (): void => {
    shown = true;
    stderr.write(`\r\u001b[2Kloom ${command}: ${what}... ${Math.round((Date.now() - started) / 1000)}s`);
    timer = setTimeout(draw, 1000);
    timer.unref();
  };
  timer = setTimeout(draw, afterMs);
  timer.unref();
  const clear = (): void => {
    if (shown) {
      stderr.write('\r\u001b[2K');
      shown = false;
    }
  };
  const stop = (): void => {
    clearTimeout(timer);
    timer = undefined;
    clear();
  };
  // The first output ends the progress line for good: the command is printing its answer.
  const wrap = (s: Writable): Writable =>
    new Proxy(s, {
      get(target, prop, receiver) {
        if (prop === 'write') {
          return (...args: Parameters<Writable['write']>) => {
            if (target === stderr || shown || timer !== undefined) stop();
            return target.write(...args);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  return { stdout: wrap(stdout), stderr: wrap(stderr), stop };
}
