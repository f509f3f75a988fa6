import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { timeWithRelative } from '../output.js';
import { parseOptionalUsage } from '../parse.js';

export class FailCommand extends LoomCommand {
  static override paths = [['fail']];

  static override usage = Command.Usage({
    description: 'Report a claimed task as failed',
    details: `
      Gives the task back under your lease with a reason. A retryable failure returns it to the queue after a backoff, until its attempts run out; then it is dead-lettered (\`failed\`) and a human is asked to look. \`--no-retry\` dead-letters it now, for failures a retry cannot fix.
    `,
    examples: [
      ['Report a failure worth retrying', '$0 fail loom-1a2b3c4d --agent worker-1 --token TOKEN --reason "npm registry timed out"'],
      ['Report a permanent failure', '$0 fail loom-1a2b3c4d --agent worker-1 --token TOKEN --reason "spec contradicts itself" --no-retry'],
    ],
  });

  id = Option.String({ name: 'id' });
  agent = Option.String('--agent', { description: 'The agent holding the lease (default: $LOOM_AGENT_ID)' });
  token = Option.String('--token', { required: true, description: 'The lease token from `loom claim`' });
  reason = Option.String('--reason', { required: true, description: 'What went wrong, for the next attempt or a human' });
  noRetry = Option.Boolean('--no-retry', false, { description: 'Do not retry: dead-letter the task now' });
  usage = Option.String('--usage', { description: 'Tokens and cost spent since your last report on it, as JSON: {"input_tokens":N,"output_tokens":N,"cache_read_tokens":N,"cost_usd":X,"model":"..."}' });

  async execute(): Promise<number> {
    const agent = this.actingAgent(this.agent);
    const usage = parseOptionalUsage(this.usage);
    const result = await this.withApi((api, project) =>
      api.fail({
        project_id: project.project_id,
        task_id: this.id,
        agent_id: agent,
        lease_token: this.token,
        reason: this.reason,
        retryable: !this.noRetry,
        ...(usage === undefined ? {} : { usage }),
      }),
    );
    const { task } = result;
    this.emit(result, () =>
      result.outcome === 'retrying'
        ? `${task.id} will be retried${result.run_after === null ? '' : ` at ${timeWithRelative(result.run_after)}`}; ${task.attempts} of ${task.max_attempts} attempts used`
        : [
            `${task.id} is dead-lettered (failed after ${task.attempts} of ${task.max_attempts} attempts): it will not be retried`,
            `reason: ${task.failure_reason ?? this.reason}`,
          ],
    );
    return 0;
  }
}
