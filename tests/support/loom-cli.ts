import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const LOOM_BIN = join(ROOT, 'bin/loom.js');
export const BUILT_MAIN = join(ROOT, 'dist/src/app/main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `loom` binary as a user would, in `cwd`. */
export function loom(cwd: string, args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    execFile(
      process.execPath,
      [LOOM_BIN, ...args],
      // maxBuffer: execFile's default (1 MiB of output) would cut a large `--json` answer short
      { cwd, env: { ...process.env, LOOM_DATABASE_URL: '', LOOM_PROJECT_DIR: '', ...env }, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolvePromise({ code, stdout, stderr });
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
