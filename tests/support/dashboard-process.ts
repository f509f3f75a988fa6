import { spawn, type ChildProcess } from 'node:child_process';
import { LOOM_BIN } from './loom-cli.js';
import { until } from './until.js';

/** A `loom dashboard --no-open --json` process (or `loom serve`), with what it printed. */
export class LoomProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (c: Buffer) => (this.stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Starts `loom ARGS --json` and waits for its start-up document on stdout. */
  static async start(cwd: string, args: string[], env: Record<string, string> = {}): Promise<{ proc: LoomProcess; ready: any }> {
    const child = spawn(process.execPath, [LOOM_BIN, ...args, '--json'], {
      cwd,
      env: { ...process.env, LOOM_DATABASE_URL: '', LOOM_PROJECT_DIR: '', DISPLAY: '', WAYLAND_DISPLAY: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = new LoomProcess(child);
    let ready: any;
    await until(
      () => {
        if (child.exitCode !== null) throw new Error(`loom ${args.join(' ')} exited ${child.exitCode}:\n${proc.stdout}\n${proc.stderr}`);
        try {
          ready = JSON.parse(proc.stdout);
          return true;
        } catch {
          return false;
        }
      },
      `loom ${args.join(' ')} to start`,
      120_000,
      50,
    );
    return { proc, ready };
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}
