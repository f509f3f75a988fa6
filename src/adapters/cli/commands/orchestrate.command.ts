import { Command, Option } from 'clipanion';
import { validationFailed } from '../../../domain/errors.js';
import { findUnsafeText } from '../../../domain/text.js';
import { LoomCommand } from '../base-command.js';
import { parsePositiveInt } from '../parse.js';

export class OrchestrateCommand extends LoomCommand {
  static override paths = [['orchestrate']];

  static override usage = Command.Usage({
    category: 'Orchestration',
    description: 'Run the reconcile loop, and optionally dispatch ready tasks to a command or a plugin\'s runner',
    details: `
      Every tick (default 5 s, \`orchestration.tick_seconds\`) requeues or dead-letters expired leases, escalates stuck and bouncing work, completes epics whose children are done and records agents' last contact. Safe to run in several processes at once.

      With \`--run\`, ready tasks are dispatched to a command, at most \`--concurrency\` at a time, each in its own process group, heartbeated while it runs. The command gets the task in \`LOOM_TASK_ID\`, \`LOOM_TASK_TITLE\`, \`LOOM_LEASE_TOKEN\`, \`LOOM_AGENT_ID\`, \`LOOM_PROJECT_ID\` and \`LOOM_PROJECT_DIR\`, and in the placeholders \`{task_id}\`, \`{title}\`, \`{lease_token}\`, \`{agent_id}\`, \`{project_id}\`, \`{project_dir}\`, quoted for the shell: write them bare or inside double quotes, never inside single quotes (refused), and prefer the variables in anything a nested shell parses again. Exit 0 records done (stdout is the output when it is one JSON object; a process that reported itself with \`loom done\` keeps its report); anything else is a retryable failure; a timeout kills the whole process tree, verified gone, before the failure is recorded. Ctrl-C gives running tasks back without using an attempt.

      With \`--runner PLUGIN/TYPE\` instead, a trusted plugin's runner builds each task's command (a program and its arguments, no shell), and \`--runner-options\` (a JSON object) are checked against its schema before anything is claimed; \`loom plugins info PLUGIN\` lists its runners. The job is run and recorded as with \`--run\`.

      The command also finds \`loom\` on its PATH: this same Loom (a small shim; \`LOOM_BIN\` holds the path of its bin/loom.js), so \`loom done\` in a job needs no \`npm link\`, and \`loom claim|done|fail|heartbeat\` there take \`--agent\` from \`LOOM_AGENT_ID\`. With \`--exit-when-idle\` it says what it still waits for (tasks claimed by other agents, retries in backoff) and exits when none is left.

      Exit codes: 0 done; 1 an error stopped it; 2 bad usage; 3 it finished, but tasks it ran became dead letters (\`loom dlq list\`).
    `,
    examples: [
      ['Reconcile once', '$0 orchestrate --once'],
      ['Keep reconciling every 10 s', '$0 orchestrate --interval 10'],
      [
        'Run Claude Code headless on every ready task, 3 at a time',
        `$0 orchestrate --run 'claude -p "Do loom task {task_id}: {title}. When finished run: loom done $LOOM_TASK_ID --agent $LOOM_AGENT_ID --token $LOOM_LEASE_TOKEN --output <json>"' --concurrency 3 --timeout 1800 --exit-when-idle`,
      ],
      ['The same through a plugin\'s runner', `$0 orchestrate --runner example/claude --runner-options '{"model": "sonnet"}' --concurrency 3 --timeout 1800 --exit-when-idle`],
    ],
  });

  once = Option.Boolean('--once', false, { description: 'One tick, then exit' });
  interval = Option.String('--interval', { description: 'Seconds between ticks' });
  run = Option.String('--run', { description: 'Command template run for each ready task' });
  runner = Option.String('--runner', { description: "A plugin's runner for each ready task, PLUGIN/TYPE (instead of --run)" });
  runnerOptions = Option.String('--runner-options', { description: 'The runner\'s options as a JSON object (with --runner; default: orchestration.runner_options in the config)' });
  concurrency = Option.String('--concurrency', { description: 'Most tasks running at once (with --run or --runner; default 1)' });
  timeout = Option.String('--timeout', { description: 'Seconds a task may run before its process tree is killed (with --run or --runner)' });
  exitWhenIdle = Option.Boolean('--exit-when-idle', false, { description: 'Stop once nothing is ready, claimed or waiting to retry (with --run or --runner)' });
  agent = Option.String('--agent', { description: 'Agent id prefix of the runner (default runner-HOST-PID)' });
  rateLimitExitCode = Option.Array('--rate-limit-exit-code', { description: 'An exit code of the agent command meaning "rate-limited" (with --run or --runner; repeatable)' });
  rateLimitPattern = Option.String('--rate-limit-pattern', { description: 'A regular expression on the end of the output meaning "rate-limited"; a group (?<reset>...) may give the reset time (with --run or --runner)' });
  rateLimitWait = Option.String('--rate-limit-wait', { description: 'Seconds to pause when a rate limit names no reset time (with --run or --runner; default 300)' });

  async execute(): Promise<number> {
    const interval = parsePositiveInt('--interval', this.interval);
    const concurrency = parsePositiveInt('--concurrency', this.concurrency);
    const timeout = parsePositiveInt('--timeout', this.timeout);
    const rateLimit = parseRateLimitOptions(this.rateLimitExitCode, this.rateLimitPattern, this.rateLimitWait);
    if (this.run !== undefined && this.runner !== undefined) throw validationFailed('--run and --runner both say how to run a task: give one');
    if (this.runnerOptions !== undefined && this.runner === undefined) throw validationFailed('--runner-options go with --runner');
    const runnerOptions = this.runnerOptions === undefined ? undefined : parseRunnerOptions(this.runnerOptions);
    if (this.run === undefined && this.runner === undefined && (concurrency !== undefined || timeout !== undefined || this.exitWhenIdle || rateLimit !== undefined)) {
      throw validationFailed('--concurrency, --timeout, --exit-when-idle and the --rate-limit-* options go with --run or --runner');
    }
    const result = await this.context.connector.orchestrate({
      ...this.connectOptions(),
      once: this.once,
      exitWhenIdle: this.exitWhenIdle,
      ...(interval === undefined ? {} : { intervalSeconds: interval }),
      ...(this.run === undefined ? {} : { run: this.run }),
      ...(this.runner === undefined ? {} : { runner: this.runner, ...(runnerOptions === undefined ? {} : { runnerOptions }) }),
      ...(concurrency === undefined ? {} : { concurrency }),
      ...(timeout === undefined ? {} : { timeoutSeconds: timeout }),
      ...(this.agent === undefined ? {} : { agentId: this.agent }),
      ...(rateLimit === undefined ? {} : { rateLimit }),
      out: (line) => (this.json ? this.context.stderr : this.context.stdout).write(`${line}\n`),
    });
    if (this.json) this.emit(result, () => '');
    // 3: the run finished, but tasks it ran became dead letters (a script can tell that from success).
    return (result.dispatched?.dead_lettered.length ?? 0) > 0 ? 3 : 0;
  }
}

/** --runner-options: one JSON object (at most 64 KiB), checked further against the runner's schema. */
export function parseRunnerOptions(text: string): Record<string, unknown> {
  if (text.length > 65_536) throw validationFailed('--runner-options is over 64 KiB');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw validationFailed(`--runner-options is not JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw validationFailed('--runner-options must be a JSON object, e.g. \'{"model": "opus"}\'');
  const unsafe = findUnsafeText(value, '--runner-options');
  if (unsafe !== null) throw validationFailed(unsafe);
  return value as Record<string, unknown>;
}

/** The --rate-limit-* options, checked: exit codes 1..255, a pattern that compiles (at most 500 characters), a wait of 1 s .. 1 day. */
export function parseRateLimitOptions(
  codes: string[] | undefined,
  pattern: string | undefined,
  wait: string | undefined,
): { exitCodes?: number[]; pattern?: string; waitSeconds?: number } | undefined {
  if (codes === undefined && pattern === undefined && wait === undefined) return undefined;
  const exitCodes = (codes ?? []).map((c) => {
    if (!/^\d{1,3}$/.test(c) || Number(c) < 1 || Number(c) > 255) throw validationFailed(`--rate-limit-exit-code wants an exit code from 1 to 255, got ${JSON.stringify(c.slice(0, 20))}`, { field: '--rate-limit-exit-code' });
    return Number(c);
  });
  if (pattern !== undefined) {
    if (pattern.length === 0 || pattern.length > 500) throw validationFailed('--rate-limit-pattern must be 1 to 500 characters', { field: '--rate-limit-pattern' });
    try {
      new RegExp(pattern);
    } catch (e) {
      throw validationFailed(`--rate-limit-pattern is not a valid regular expression: ${(e as Error).message}`, { field: '--rate-limit-pattern' });
    }
  }
  let waitSeconds: number | undefined;
  if (wait !== undefined) {
    if (!/^\d{1,5}$/.test(wait) || Number(wait) < 1 || Number(wait) > 86_400) throw validationFailed(`--rate-limit-wait wants 1 to 86400 seconds, got ${JSON.stringify(wait.slice(0, 20))}`, { field: '--rate-limit-wait' });
    waitSeconds = Number(wait);
  }
  return { ...(exitCodes.length === 0 ? {} : { exitCodes }), ...(pattern === undefined ? {} : { pattern }), ...(waitSeconds === undefined ? {} : { waitSeconds }) };
}
