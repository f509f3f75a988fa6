import { Command, Option } from 'clipanion';
import { validationFailed } from '../../../domain/errors.js';
import { RESOLVE_ACTIONS, type ResolveAction } from '../../../domain/policy.js';
import { LoomCommand } from '../base-command.js';
import { parseOptionalJsonObject } from '../parse.js';

export class ResolveCommand extends LoomCommand {
  static override paths = [['resolve']];

  static override usage = Command.Usage({
    category: 'Orchestration',
    description: 'Settle an escalation and decide what happens to its task',
    details: `
      \`--action\` says what happens to the task: \`retry\` puts it back in the queue with its attempts reset, \`unblock\` lets it run again as it is, \`done\` marks it done (with \`--output\`, a JSON object, as its result), \`cancel\` cancels it (dependents follow the failure policy). \`--note\` is kept with the resolution. \`loom escalations\` lists the ids.
    `,
    examples: [
      ['Let an agent try again', '$0 resolve esc-0123456789ab --action retry --note "the API key is set now"'],
      ['Finish it by hand', `$0 resolve esc-0123456789ab --action done --output '{"pr":"#42"}'`],
      ['Give up on the task', '$0 resolve esc-0123456789ab --action cancel --note "out of scope"'],
    ],
  });

  id = Option.String({ name: 'escalation-id' });
  action = Option.String('--action', { required: true, description: 'retry, cancel, done or unblock' });
  output = Option.String('--output', { description: 'With --action done: a JSON object with the result' });
  note = Option.String('--note', { description: 'Why, kept with the resolution' });
  agent = Option.String('--agent', { description: 'Who is resolving it' });

  async execute(): Promise<number> {
    const action = parseAction(this.action);
    if (this.output !== undefined && action !== 'done') {
      throw validationFailed(`--output goes only with --action done, not with --action ${action}`, { flag: '--output' });
    }
    const output = parseOptionalJsonObject('--output', this.output);
    const result = await this.withApi((api, project) =>
      api.resolveEscalation({
        project_id: project.project_id,
        escalation_id: this.id,
        action,
        ...(output === undefined ? {} : { output }),
        ...(this.note === undefined ? {} : { note: this.note }),
        ...(this.agent === undefined ? {} : { agent_id: this.agent }),
      }),
    );
    const { task, escalation } = result;
    const blocked = task.status === 'blocked' && task.blocked_reason !== null ? ` (${task.blocked_reason.replace('_', ' ')})` : '';
    this.emit(result, () => [
      `resolved ${escalation.id} with ${action}`,
      `${task.id} is now ${task.status}${blocked}  ${task.title}`,
    ]);
    return 0;
  }
}

function parseAction(text: string): ResolveAction {
  if ((RESOLVE_ACTIONS as readonly string[]).includes(text)) return text as ResolveAction;
  throw validationFailed(`--action must be one of ${RESOLVE_ACTIONS.join(', ')}, got '${text}'`, { flag: '--action' });
}
