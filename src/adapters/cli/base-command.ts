import { Command, Option, UsageError } from 'clipanion';
import { LoomError } from '../../domain/errors.js';
import type { LoomApi } from '../../ports/loom-api.js';
import type { ProjectContext } from '../../ports/loom-connector.js';
import type { LoomCliContext } from './context.js';
import { printable, printJson, withColors } from './output.js';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

interface UsageLike {
  clipanion: { type: 'usage' | 'none' };
}
const isClipanionError = (error: unknown): error is Error & UsageLike =>
  typeof error === 'object' && error !== null && typeof (error as Partial<UsageLike>).clipanion === 'object';

/**
 * Base of every `loom` command: the shared `--project-dir` and `--json` flags,
 * opening (and always closing) the project's API, printing, and the one place
 * where errors become output and exit codes.
 */
export abstract class LoomCommand extends Command<LoomCliContext> {
  projectDir = Option.String('--project-dir', {
    description: 'The project directory (default: $LOOM_PROJECT_DIR, else found from the current directory)',
  });

  json = Option.Boolean('--json', false, { description: 'Print the result as one JSON document' });

  /** What to pass to the connector: the flag, else LOOM_PROJECT_DIR, else nothing (the connector searches). */
  protected connectOptions(): { projectDir?: string } {
    const dir = this.projectDir ?? this.context.env.LOOM_PROJECT_DIR;
    return dir === undefined || dir === '' ? {} : { projectDir: dir };
  }

  /**
   * The acting agent: `--agent`, else `$LOOM_AGENT_ID` (what `loom orchestrate --run` gives its jobs),
   * else a usage error (exit 2) saying both ways. Call it before opening the project.
   */
  protected actingAgent(given: string | undefined): string {
    const id = given ?? (this.context.env.LOOM_AGENT_ID || undefined);
    if (id === undefined) throw new UsageError('--agent is required: pass --agent ID, or set LOOM_AGENT_ID (loom orchestrate --run sets it for its jobs)');
    return id;
  }

  /** Opens the project's API, runs `fn`, and closes the API whatever happens. */
  protected async withApi<T>(fn: (api: LoomApi, project: ProjectContext) => Promise<T>): Promise<T> {
    const { api, project } = await this.context.connector.open(this.connectOptions());
    let result: T;
    try {
      result = await fn(api, project);
    } catch (error) {
      // The original error matters more than a failure to close after it.
      await api.close().catch(() => undefined);
      throw error;
    }
    await api.close();
    return result;
  }

  /** Writes lines to stdout. */
  protected print(...lines: string[]): void {
    this.context.stdout.write(`${withColors(printable(lines.join('\n')))}\n`);
  }

  /** With --json the raw result; otherwise the readable lines. */
  protected emit(result: unknown, human: () => string | string[]): void {
    if (this.json) {
      printJson(this.context.stdout, result);
      return;
    }
    const text = human();
    this.print(...(Array.isArray(text) ? text : [text]));
  }

  /** The exit code `catch()` chose; clipanion's `catch()` has no way to return one. */
  private failureExitCode: number | undefined;

  /**
   * Clipanion turns a handled `catch()` into exit 0, so errors are routed
   * through `catch()` here and the exit code it chose is returned.
   */
  override async validateAndExecute(): Promise<number> {
    try {
      return await super.validateAndExecute();
    } catch (error) {
      await this.catch(error);
      return this.failureExitCode ?? EXIT_ERROR;
    }
  }

  /** Maps any error to output and an exit code, once: 1 for Loom and internal errors, 2 for usage errors. */
  override async catch(error: unknown): Promise<void> {
    this.failureExitCode = this.report(error);
  }

  private report(error: unknown): number {
    const { stdout, stderr, env } = this.context;
    const debug = env.LOOM_DEBUG === '1';
    if (isClipanionError(error)) {
      stderr.write(this.cli.error(error, { command: this }));
      return EXIT_USAGE;
    }
    if (LoomError.is(error)) {
      if (this.json) {
        printJson(stdout, {
          error: { code: error.code, message: error.message, hint: error.hint, details: error.details },
        });
      } else {
        stderr.write(`${error.code}: ${printable(error.message)}\n`);
        if (error.hint !== undefined) stderr.write(`hint: ${printable(error.hint)}\n`);
      }
      if (debug && error.stack !== undefined) stderr.write(`${error.stack}\n`);
      return EXIT_ERROR;
    }
    const message = error instanceof Error ? error.message : String(error);
    if (this.json) {
      printJson(stdout, { error: { code: 'INTERNAL', message } });
    } else {
      stderr.write(`INTERNAL: ${printable(message)}\n`);
    }
    if (debug) {
      if (error instanceof Error && error.stack !== undefined) stderr.write(`${error.stack}\n`);
    } else if (!this.json) {
      stderr.write('hint: an unexpected error; run again with LOOM_DEBUG=1 to see the stack trace\n');
    }
    return EXIT_ERROR;
  }
}
