import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { timeWithRelative } from '../output.js';
import { parsePositiveInt, parseOptionalUsage } from '../parse.js';

export class HeartbeatCommand extends LoomCommand {
  static override paths = [['heartbeat']];

  static override usage = Command.Usage({
    description: 'Extend the lease on a claimed task',
    details: `
      Shows Loom you are still working: the lease is extended from now. Call it well before the lease expires; once it has expired the task may go to another agent and this is refused with LEASE_LOST.

      \`--progress\` says what you have done since the last heartbeat. A task whose heartbeats carry no progress for a long time is reported as stuck and escalated to a human.
    `,
    examples: [
      ['Extend the lease by 10 minutes', '$0 heartbeat loom-1a2b3c4d --agent worker-1 --token TOKEN --lease-seconds 600'],
      ['Extend it and report progress', '$0 heartbeat loom-1a2b3c4d --agent worker-1 --token TOKEN --progress "parser done, writing tests"'],
    ],
  });

  id = Option.String({ name: 'id' });
  agent = Option.String('--agent', { description: 'The agent holding the lease (default: $LOOM_AGENT_ID)' });
  token = Option.String('--token', { required: true, description: 'The lease token from `loom claim`' });
  leaseSeconds = Option.String('--lease-seconds', { description: 'New lease length in seconds, from now' });
  progress = Option.String('--progress', { description: 'What you have done since the last heartbeat' });
  usage = Option.String('--usage', { description: 'Tokens and cost spent since your last report on it, as JSON: {"input_tokens":N,"output_tokens":N,"cache_read_tokens":N,"cost_usd":X,"model":"..."}' });

  async execute(): Promise<number> {
    const agent = this.actingAgent(this.agent);
    const usage = parseOptionalUsage(this.usage);
    const leaseSeconds = parsePositiveInt('--lease-seconds', this.leaseSeconds);
    const result = await this.withApi((api, project) =>
      api.heartbeat({
        project_id: project.project_id,
        task_id: this.id,
        agent_id: agent,
        lease_token: this.token,
        ...(leaseSeconds === undefined ? {} : { lease_seconds: leaseSeconds }),
        ...(this.progress === undefined ? {} : { progress: this.progress }),
        ...(usage === undefined ? {} : { usage }),
      }),
    );
    this.emit(result, () => `lease on ${result.task.id} extended: expires ${timeWithRelative(result.lease.expires_at)}`);
    return 0;
  }
}
