import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { shellQuote, timeWithRelative } from '../output.js';
import { parsePositiveInt } from '../parse.js';

export class ClaimCommand extends LoomCommand {
  static override paths = [['claim']];

  static override usage = Command.Usage({
    description: 'Claim a task: the best ready one, or the one given',
    details: `
      Takes a lease on the task for \`--agent\`. Keep the lease token: \`loom done\`, \`loom fail\` and \`loom heartbeat\` need it, and a report after the lease expired is refused. Extend long work with \`loom heartbeat\`.

      When nothing can be claimed, this says why and still exits 0: that is an expected outcome, not an error.
    `,
    examples: [
      ['Claim the best ready task', '$0 claim --agent worker-1'],
      ['Claim a given task with a 30-minute lease', '$0 claim loom-1a2b3c4d --agent worker-1 --lease-seconds 1800'],
      ['Claim from a script', 'token=$($0 claim --agent worker-1 --json | jq -r .lease.token)'],
    ],
  });

  id = Option.String({ name: 'id', required: false });
  agent = Option.String('--agent', { description: 'Who is claiming (your agent id) (default: $LOOM_AGENT_ID)' });
  leaseSeconds = Option.String('--lease-seconds', { description: 'Lease length in seconds (default 300)' });

  async execute(): Promise<number> {
    const agent = this.actingAgent(this.agent);
    const leaseSeconds = parsePositiveInt('--lease-seconds', this.leaseSeconds);
    const result = await this.withApi((api, project) =>
      api.claim({
        project_id: project.project_id,
        agent_id: agent,
        ...(this.id === undefined ? {} : { task_id: this.id }),
        ...(leaseSeconds === undefined ? {} : { lease_seconds: leaseSeconds }),
      }),
    );
    this.emit(result, () => {
      if (!result.claimed) {
        if (result.reason === 'none_ready') return 'nothing is ready to claim (see `loom status` for blocked work)';
        const task = result.task;
        const which = task?.id ?? this.id ?? 'the task';
        return `not claimed: ${which} is not ready${task === undefined ? '' : ` (it is ${task.status})`}`;
      }
      const { task, lease } = result;
      const leaseArgs = `${task.id} --agent ${shellQuote(agent)} --token ${shellQuote(lease.token)}`;
      return [
        `claimed ${task.id}  ${task.priority}  ${task.title}`,
        `lease   ${lease.token}  expires ${timeWithRelative(lease.expires_at)}`,
        ...(task.done_when === null ? [] : [`done when: ${task.done_when}`]),
        '',
        `when finished:   loom done ${leaseArgs}`,
        `if it fails:     loom fail ${leaseArgs} --reason "..."`,
        `to keep working: loom heartbeat ${leaseArgs}`,
      ];
    });
    return 0;
  }
}
