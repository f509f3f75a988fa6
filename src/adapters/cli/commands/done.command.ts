import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { listOrNone } from '../output.js';
import { parseOptionalJsonObject, parseOptionalUsage } from '../parse.js';

export class DoneCommand extends LoomCommand {
  static override paths = [['done']];

  static override usage = Command.Usage({
    description: 'Report a claimed task as done',
    details: `
      Completes the task under your lease (\`--agent\` and \`--token\` from \`loom claim\`). Dependents waiting only on this task become ready; an epic whose children are all done completes. \`--output\` records a JSON object with the result (files changed, a summary, ...). Reporting twice with the same lease changes nothing.
    `,
    examples: [
      ['Report done', '$0 done loom-1a2b3c4d --agent worker-1 --token TOKEN'],
      ['Report done with an output', `$0 done loom-1a2b3c4d --agent worker-1 --token TOKEN --output '{"pr":"#42"}'`],
    ],
  });

  id = Option.String({ name: 'id' });
  agent = Option.String('--agent', { description: 'The agent holding the lease (default: $LOOM_AGENT_ID)' });
  token = Option.String('--token', { required: true, description: 'The lease token from `loom claim`' });
  output = Option.String('--output', { description: 'A JSON object with the result' });
  usage = Option.String('--usage', { description: 'Tokens and cost spent since your last report on it, as JSON: {"input_tokens":N,"output_tokens":N,"cache_read_tokens":N,"cost_usd":X,"model":"..."}' });

  async execute(): Promise<number> {
    const agent = this.actingAgent(this.agent);
    const usage = parseOptionalUsage(this.usage);
    const output = parseOptionalJsonObject('--output', this.output);
    const result = await this.withApi((api, project) =>
      api.done({
        project_id: project.project_id,
        task_id: this.id,
        agent_id: agent,
        lease_token: this.token,
        ...(output === undefined ? {} : { output }),
        ...(usage === undefined ? {} : { usage }),
      }),
    );
    this.emit(result, () =>
      result.already_done
        ? `${result.task.id} was already done under this lease: nothing changed`
        : [
            `done ${result.task.id}  ${result.task.title}`,
            `unblocked: ${listOrNone(result.unblocked)}`,
            ...(result.completed_epics.length === 0 ? [] : [`completed epics: ${result.completed_epics.join(', ')}`]),
          ],
    );
    return 0;
  }
}
