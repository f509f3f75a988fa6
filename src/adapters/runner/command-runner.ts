import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { AgentRunner, KillReason, RunJob, RunningJob, RunOutcome } from '../../ports/agent-runner.js';
import { terminateGroup } from './process-group.js';
import { TailBuffer } from './tail-buffer.js';
import { expandTemplate } from './template.js';

/** A job's command built by code (a plugin's runner type): started without a shell. */
export interface JobCommand {
  argv: [string, ...string[]];
  /** Added to the job's environment (the LOOM_* variables are set over it). */
  env: Record<string, string>;
}

export interface CommandRunnerOptions {
  /**
   * A shell command with `{task_id}`, `{title}`, `{lease_token}`, `{project_id}`, `{project_dir}`, `{agent_id}`
   * placeholders (bare or inside double quotes; see expandTemplate). Throws VALIDATION_FAILED when one sits
   * where it cannot be quoted safely. Exactly one of `template` and `build`.
   */
  template?: string;
  /** Instead of a template: each job's command, from code. A throw is the job's start failure (its message says why). */
  build?: (job: RunJob) => JobCommand;
  /** Default `/bin/sh` (run as `SHELL -c COMMAND`). */
  shell?: string;
  /** The environment the LOOM_* variables are added to; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Time between SIGTERM and SIGKILL; default 5 s. */
  killGraceMs?: number;
  /** Stdout kept (its last bytes); default 1 MiB. */
  maxStdoutBytes?: number;
  /** Stderr kept (its last bytes); default 4 KiB. */
  stderrTailBytes?: number;
  log?: (line: string) => void;
  /**
   * The `loom` the jobs should call (the path of bin/loom.js of the running Loom): put on the
   * job's PATH as a `loom` command (a small shim running it with this Node) and given as
   * `LOOM_BIN`, so `loom done ...` in a job works without `npm link` and reaches the same Loom.
   */
  loomBin?: string;
}

/**
 * Runs a command template per task through the shell, each job in its own
 * process group, so stopping a job (timeout, shutdown, lost lease) takes
 * everything it started with it. A process that leaves the group (setsid,
 * a daemon) is beyond its reach.
 */
export class CommandRunner implements AgentRunner {
  private readonly shell: string;
  private readonly killGraceMs: number;

  private readonly shimDir: string | null;

  constructor(private readonly o: CommandRunnerOptions) {
    this.shell = o.shell ?? '/bin/sh';
    this.shimDir = o.loomBin === undefined ? null : loomShim(o.loomBin);
    this.killGraceMs = o.killGraceMs ?? 5000;
    if ((o.template === undefined) === (o.build === undefined)) throw new TypeError('CommandRunner takes a template or a build function, one of them');
    // A placeholder where it cannot be quoted safely is refused now, not at the first task.
    if (o.template !== undefined) expandTemplate(o.template, { task_id: '', title: '', lease_token: '', project_id: '', project_dir: '', agent_id: '' });
  }

  start(job: RunJob): RunningJob {
    if (!existsSync(job.project_dir)) return failedJob(`the project directory ${job.project_dir} does not exist`);
    let program: string;
    let args: string[];
    let extra: Record<string, string> = {};
    if (this.o.build !== undefined) {
      try {
        const built = this.o.build(job);
        [program, ...args] = built.argv;
        extra = built.env;
      } catch (e) {
        return failedJob((e as Error).message);
      }
    } else {
      const command = expandTemplate(this.o.template!, {
        task_id: job.task.id,
        title: job.task.title,
        lease_token: job.lease_token,
        project_id: job.project_id,
        project_dir: job.project_dir,
        agent_id: job.agent_id,
      });
      program = this.shell;
      args = ['-c', command];
    }
    const env: NodeJS.ProcessEnv = {
      ...(this.o.env ?? process.env),
      ...extra,
      LOOM_TASK_ID: job.task.id,
      LOOM_TASK_TITLE: job.task.title,
      LOOM_LEASE_TOKEN: job.lease_token,
      LOOM_AGENT_ID: job.agent_id,
      LOOM_PROJECT_ID: job.project_id,
      LOOM_PROJECT_DIR: job.project_dir,
    };
    if (this.o.loomBin !== undefined) env.LOOM_BIN = this.o.loomBin;
    if (this.shimDir !== null) env.PATH = [this.shimDir, env.PATH ?? ''].filter((x) => x !== '').join(delimiter);
    let child: ChildProcess;
    try {
      // detached: the shell (or the program) leads a new process group (pgid = its pid). The program is
      // looked up on the job's PATH (env), where the `loom` shim comes first.
      child = spawn(program, args, { cwd: job.project_dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      return failedJob(`could not start ${program}: ${(e as Error).message}`);
    }
    if (child.pid === undefined) {
      // The failure arrives as an 'error' event.
      const result = new Promise<RunOutcome>((resolve) =>
        child.once('error', (e) => resolve({ kind: 'spawn_failed', message: `could not start ${program}: ${e.message}` })),
      );
      return { pid: undefined, result, kill: () => result.then(() => undefined) };
    }
    return new CommandJob(child, child.pid, job.timeout_ms, {
      graceMs: this.killGraceMs,
      stdoutBytes: this.o.maxStdoutBytes ?? 1024 * 1024,
      stderrBytes: this.o.stderrTailBytes ?? 4096,
      ...(this.o.log === undefined ? {} : { log: this.o.log }),
    });
  }
}

/**
 * A folder holding a `loom` command that runs `loomBin` with this Node (the
 * same Loom, whatever the job's PATH had), removed when this process exits.
 */
function loomShim(loomBin: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'loom-bin-'));
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(join(dir, 'loom'), `#!/bin/sh\nexec ${q(process.execPath)} ${q(loomBin)} "$@"\n`, { mode: 0o755 });
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function failedJob(message: string): RunningJob {
  const result = Promise.resolve<RunOutcome>({ kind: 'spawn_failed', message });
  return { pid: undefined, result, kill: async () => {} };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class CommandJob implements RunningJob {
  readonly result: Promise<RunOutcome>;
  private killReason: KillReason | null = null;
  private exited = false;
  private terminating: Promise<void> | null = null;

  constructor(
    child: ChildProcess,
    readonly pid: number,
    timeoutMs: number | null,
    private readonly o: { graceMs: number; stdoutBytes: number; stderrBytes: number; log?: (line: string) => void },
  ) {
    const stdout = new TailBuffer(o.stdoutBytes);
    const stderr = new TailBuffer(o.stderrBytes);
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (e) => o.log?.(`process ${pid}: ${e.message}`)); // e.g. a failed signal; 'exit' still comes
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => {
        this.exited = true;
        resolve({ code, signal });
      }),
    );
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const timer = timeoutMs === null ? null : setTimeout(() => void this.kill('timeout'), timeoutMs);

    this.result = (async (): Promise<RunOutcome> => {
      const { code, signal } = await exit;
      if (timer !== null) clearTimeout(timer);
      // The job is its process group: whatever the shell left running goes with it.
      await this.terminate().catch((e: unknown) => o.log?.(`could not stop process group ${pid}: ${(e as Error).message}`));
      // Output is complete once the pipes close; a process that escaped the group may hold them open.
      await Promise.race([closed, sleep(1000)]);
      child.stdout!.destroy();
      child.stderr!.destroy();
      if (this.killReason !== null) return { kind: 'killed', reason: this.killReason };
      const status = code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0));
      return { kind: 'exited', code: status, stdout: stdout.text(), stderr_tail: stderr.text() };
    })();
  }

  private terminate(): Promise<void> {
    this.terminating ??= terminateGroup(this.pid, this.o.graceMs, this.o.log);
    return this.terminating;
  }

  async kill(reason: KillReason): Promise<void> {
    // A job that already exited on its own keeps its exit as the outcome.
    if (!this.exited && this.killReason === null) this.killReason = reason;
    void this.terminate();
    await this.result;
  }
}
