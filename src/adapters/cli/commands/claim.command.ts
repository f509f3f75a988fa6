import { Command, Option, UsageError } from 'clipanion';
import { MAX_BATCH } from '../../../ports/loom-api.js';
import { LoomCommand } from '../base-command.js';
import { shellQuote, timeWithRelative } from '../output.js';
import { parsePositiveInt } from '../parse.js';

export class ClaimCommand extends LoomCommand {
  static override paths = [['claim']];

  static override usage = Command.Usage({
    description: 'Claim a task: the best ready one, or the one given',
    details: `
      Takes a lease on the task for \`--agent\`. Keep the lease token: \`loom done\`, \`loom fail\` and \`loom heartbeat\` need it, and a report after the lease expired is refused. Extend long work with \`loom heartbeat\`.

      With \`--count N\` it claims up to N of the best ready tasks at once (one statement, each task with a lease of its own) and prints each with its lease; \`--json\` prints \`{claims: [{task, lease}]}\`. Report each with \`loom done\` (batch done and fail are API calls: \`doneBatch\`, \`failBatch\`).

      When nothing can be claimed, this says why and still exits 0: that is an expected outcome, not an error.
    `,
    examples: [
      ['Claim the best ready task', '$0 claim --agent worker-1'],
      ['Claim a given task with a 30-minute lease', '$0 claim loom-1a2b3c4d --agent worker-1 --lease-seconds 1800'],
      ['Claim up to 5 ready tasks at once', '$0 claim --count 5 --agent worker-1'],
      ['Claim from a script', 'token=$($0 claim --agent worker-1 --json | jq -r .lease.token)'],
    ],
  });

  id = Option.String({ name: 'id', required: false });
  agent = Option.String('--agent', { description: 'Who is claiming (your agent id) (default: $LOOM_AGENT_ID)' });
  leaseSeconds = Option.String('--lease-seconds', { description: 'Lease length in seconds (default 300)' });
  count = Option.String('--count', { description: `Claim up to N of the best ready tasks at once (1-${MAX_BATCH})` });

  async execute(): Promise<number> {
    const agent = this.actingAgent(this.agent);
    const leaseSeconds = parsePositiveInt('--lease-seconds', this.leaseSeconds);
    const count = parsePositiveInt('--count', this.count);
    if (count !== undefined) {
      if (this.id !== undefined) throw new UsageError('--count claims the best ready tasks: give it or a task id, not both');
      return this.claimMany(agent, count, leaseSeconds);
    }
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

  private async claimMany(agent: string, count: number, leaseSeconds: number | undefined): Promise<number> {
    const result = await this.withApi((api, project) =>
      api.claimBatch({ project_id: project.project_id, agent_id: agent, count, ...(leaseSeconds === undefined ? {} : { lease_seconds: leaseSeconds }) }),
    );
    this.emit(result, () => {
      if (result.claims.length === 0) return 'nothing is ready to claim (see `loom status` for blocked work)';
      return [
        `claimed ${result.claims.length} task${result.claims.length === 1 ? '' : 's'} (of ${count} asked for); each has its own lease:`,
        ...result.claims.flatMap(({ task, lease }) => [
          '',
          `claimed ${task.id}  ${task.priority}  ${task.title}`,
          `lease   ${lease.token}  expires ${timeWithRelative(lease.expires_at)}`,
          `when finished:   loom done ${task.id} --agent ${shellQuote(agent)} --token ${shellQuote(lease.token)}`,
        ]),
      ];
    });
    return 0;
  }
}
