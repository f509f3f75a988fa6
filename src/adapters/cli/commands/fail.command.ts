import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { validationFailed } from '../../../domain/errors.js';
import { timeWithRelative } from '../output.js';
import { parseOptionalUsage } from '../parse.js';

/** `--rate-limited-until`: an ISO 8601 time, or whole seconds from now. */
export function parseResetAt(value: string, now: Date): string {
  if (/^\d{1,6}$/.test(value)) return new Date(now.getTime() + Number(value) * 1000).toISOString();
  if (value.length <= 40 && /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(new Date(value).getTime())) return value;
  throw validationFailed(`--rate-limited-until wants an ISO 8601 time (2026-11-30T15:00:00Z) or a number of seconds, got ${JSON.stringify(value.slice(0, 60))}`, { field: '--rate-limited-until' });
}

export class FailCommand extends LoomCommand {
  static override paths = [['fail']];

  static override usage = Command.Usage({
    description: 'Report a claimed task as failed',
    details: `
      Gives the task back under your lease with a reason. A retryable failure returns it to the queue after a backoff, until its attempts run out; then it is dead-lettered (\`failed\`) and a human is asked to look. \`--no-retry\` dead-letters it now, for failures a retry cannot fix.

      \`--rate-limited-until TIME\` says a provider's rate limit stopped the work, not the task: no attempt is used and the task is ready again at TIME (an ISO 8601 time such as 2026-11-30T15:00:00Z, or a number of seconds from now). A time in the past means now; more than a day ahead is cut to a day. Both are recorded in the \`task.rate_limited\` event.
    `,
    examples: [
      ['Report a failure worth retrying', '$0 fail loom-1a2b3c4d --agent worker-1 --token TOKEN --reason "npm registry timed out"'],
      ['Report a permanent failure', '$0 fail loom-1a2b3c4d --agent worker-1 --token TOKEN --reason "spec contradicts itself" --no-retry'],
      ['Report a rate limit (ready again in an hour, no attempt used)', '$0 fail loom-1a2b3c4d --agent worker-1 --token TOKEN --reason "usage limit reached" --rate-limited-until 3600'],
    ],
  });

  id = Option.String({ name: 'id' });
  agent = Option.String('--agent', { description: 'The agent holding the lease (default: $LOOM_AGENT_ID)' });
  token = Option.String('--token', { required: true, description: 'The lease token from `loom claim`' });
  reason = Option.String('--reason', { required: true, description: 'What went wrong, for the next attempt or a human' });
  noRetry = Option.Boolean('--no-retry', false, { description: 'Do not retry: dead-letter the task now' });
  usage = Option.String('--usage', { description: 'Tokens and cost spent since your last report on it, as JSON: {"input_tokens":N,"output_tokens":N,"cache_read_tokens":N,"cost_usd":X,"model":"..."}' });
  rateLimitedUntil = Option.String('--rate-limited-until', { description: 'A rate limit stopped it: ready again at this ISO time or in this many seconds; no attempt used' });

  async execute(): Promise<number> {
    const agent = this.actingAgent(this.agent);
    const usage = parseOptionalUsage(this.usage);
    const resetAt = this.rateLimitedUntil === undefined ? undefined : parseResetAt(this.rateLimitedUntil, new Date());
    if (resetAt !== undefined && this.noRetry) throw validationFailed('--rate-limited-until and --no-retry do not go together: a rate-limited task is retried when the limit resets');
    const result = await this.withApi((api, project) =>
      api.fail({
        project_id: project.project_id,
        task_id: this.id,
        agent_id: agent,
        lease_token: this.token,
        reason: this.reason,
        ...(resetAt === undefined ? { retryable: !this.noRetry } : { rate_limited: { reset_at: resetAt } }),
        ...(usage === undefined ? {} : { usage }),
      }),
    );
    const { task } = result;
    this.emit(result, () =>
      result.outcome === 'rate_limited'
        ? `${task.id} is rate-limited: ready again at ${timeWithRelative(result.run_after ?? resetAt ?? '')}${result.clamped === undefined ? '' : ` (the reset time was ${result.clamped === 'past' ? 'in the past' : 'more than a day ahead'}: clamped)`}; no attempt used (${task.attempts} of ${task.max_attempts})`
        : result.outcome === 'retrying'
        ? `${task.id} will be retried${result.run_after === null ? '' : ` at ${timeWithRelative(result.run_after)}`}; ${task.attempts} of ${task.max_attempts} attempts used`
        : [
            `${task.id} is dead-lettered (failed after ${task.attempts} of ${task.max_attempts} attempts): it will not be retried`,
            `reason: ${task.failure_reason ?? this.reason}`,
          ],
    );
    return 0;
  }
}
