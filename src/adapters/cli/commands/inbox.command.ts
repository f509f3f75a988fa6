import { Command, Option } from 'clipanion';
import { BROADCAST } from '../../../domain/message.js';
import { LoomCommand } from '../base-command.js';
import { indent, plural, relativeTime } from '../output.js';
import { agentOrOperator, parsePositiveInt } from '../parse.js';

export class InboxCommand extends LoomCommand {
  static override paths = [['inbox']];

  static override usage = Command.Usage({
    description: "Read an agent's unread messages",
    details: `
      Direct messages and broadcasts to the agent (\`--agent\`, else \`$LOOM_AGENT_ID\`, else your user name), oldest first. Reading marks them read: the next \`loom inbox\` shows only what came after.
    `,
    examples: [
      ['Your unread messages', '$0 inbox'],
      ["An agent's, as JSON", '$0 inbox --agent claude-2 --json'],
    ],
  });

  agent = Option.String('--agent', { description: 'Whose inbox (default $LOOM_AGENT_ID, else your user name)' });
  limit = Option.String('--limit', { description: 'At most this many messages (default 50, at most 500); the rest stay unread' });

  async execute(): Promise<number> {
    const agent = agentOrOperator(this.agent, this.context.env);
    const limit = parsePositiveInt('--limit', this.limit);
    const messages = await this.withApi((api, project) =>
      api.inbox({ project_id: project.project_id, agent_id: agent, ...(limit === undefined ? {} : { limit }) }),
    );
    const now = new Date();
    this.emit({ agent_id: agent, marked_read: messages.length, messages }, () => {
      if (messages.length === 0) return `no unread messages for ${agent}`;
      const lines = [`${plural(messages.length, 'unread message')} for ${agent}, now marked read:`];
      for (const m of messages) {
        const to = m.to_agent === BROADCAST ? ' (to everyone)' : '';
        const thread = m.thread_id === null ? '' : `  [thread ${m.thread_id}]`;
        lines.push('', `#${m.id}  from ${m.from_agent}${to}  ${relativeTime(m.created_at, now)}${thread}`, indent(m.body));
      }
      return lines;
    });
    return 0;
  }
}
