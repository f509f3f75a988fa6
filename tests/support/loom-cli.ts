import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const LOOM_BIN = join(ROOT, 'bin/loom.js');
export const BUILT_MAIN = join(ROOT, 'dist/src/app/entry/main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * How long one `loom` call may take before it is killed. A call takes well under
 * a second on a quiet machine; on a loaded one (load average 10 on 2 cores) Node
 * alone needs ~2 s to start and a call that also starts the daemon ~15-30 s.
 */
export const LOOM_CALL_TIMEOUT_MS = 120_000;

/** Runs the built `loom` binary (or `bin`, another installation's) as a user would, in `cwd`. */
export function loom(
  cwd: string,
  args: string[],
  env: Record<string, string | undefined> = {},
  { timeoutMs = LOOM_CALL_TIMEOUT_MS, bin = LOOM_BIN }: { timeoutMs?: number; bin?: string } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    execFile(
      process.execPath,
      [bin, ...args],
      // maxBuffer: execFile's default (1 MiB of output) would cut a large `--json` answer short
      { cwd, env: { ...process.env, LOOM_DATABASE_URL: '', LOOM_PROJECT_DIR: '', ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') {
          // Killed (by the timeout, say) or never started: not an exit code a test could mistake for a Loom error.
          const why = error.killed ? `killed by ${error.signal ?? 'a signal'} after ${timeoutMs / 1000} s` : `failed: ${error.message}`;
          resolvePromise({ code: -1, stdout, stderr: `${stderr}\n[loom ${args.join(' ')} ${why}]` });
          return;
        }
        resolvePromise({ code: error === null ? 0 : (error.code as number), stdout, stderr });
      },
    );
  });
}

/** Runs `loom ... --json` and parses stdout, failing loudly on a non-zero exit. */
export async function loomJson<T = any>(cwd: string, args: string[], env: Record<string, string | undefined> = {}): Promise<T> {
  const r = await loom(cwd, [...args, '--json'], env);
  if (r.code !== 0) throw new Error(`loom ${args.join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
