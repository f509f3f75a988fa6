import { Command, Option } from 'clipanion';
import { BROADCAST } from '../../../domain/message.js';
import { LoomCommand } from '../base-command.js';
import { agentOrOperator } from '../parse.js';

export class MessageCommand extends LoomCommand {
  static override paths = [['message']];

  static override usage = Command.Usage({
    description: 'Send a message to an agent (or to everyone)',
    details: `
      The message is stored: the agent reads it with \`loom inbox\` (or the MCP inbox tool) whenever it next looks, even if it is away now. \`*\` as the recipient sends to every agent of the project.

      It is sent as \`--from\`, else \`$LOOM_AGENT_ID\`, else your user name. The words after the recipient are the message.
    `,
    examples: [
      ['Tell an agent something', '$0 message claude-2 "the API schema changed, rebase first"'],
      ['Tell everyone', `$0 message '*' "freeze: no merges until 17:00"`],
      ['Reply in a thread, as a given agent', '$0 message claude-1 --from claude-2 --thread review-42 "done, have a look"'],
    ],
  });

  to = Option.String({ name: 'to' });
  words = Option.Rest({ name: 'text', required: 1 });
  from = Option.String('--from', { description: 'Send as this agent (default $LOOM_AGENT_ID, else your user name)' });
  thread = Option.String('--thread', { description: 'The thread this message belongs to' });

  async execute(): Promise<number> {
    const from = agentOrOperator(this.from, this.context.env);
    const body = this.words.join(' ');
    const message = await this.withApi((api, project) =>
      api.sendMessage({
        project_id: project.project_id,
        from_agent: from,
        to_agent: this.to,
        body,
        ...(this.thread === undefined ? {} : { thread_id: this.thread }),
      }),
    );
    this.emit(message, () => `sent message ${message.id} from ${message.from_agent} to ${message.to_agent === BROADCAST ? 'everyone' : message.to_agent}`);
    return 0;
  }
}
