import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';

export class EscalateCommand extends LoomCommand {
  static override paths = [['escalate']];

  static override usage = Command.Usage({
    description: 'Ask a human to look at a task',
    details: `
      Raises an escalation with your message. The task is blocked until a human resolves the escalation (retry, cancel, mark done or unblock).
    `,
    examples: [['Escalate a task', '$0 escalate loom-1a2b3c4d --message "needs a decision on the API shape" --agent worker-1']],
  });

  id = Option.String({ name: 'id' });
  message = Option.String('--message', { required: true, description: 'What the human needs to know or decide' });
  agent = Option.String('--agent', { description: 'Who is escalating' });

  async execute(): Promise<number> {
    const result = await this.withApi((api, project) =>
      api.escalate({
        project_id: project.project_id,
        task_id: this.id,
        message: this.message,
        ...(this.agent === undefined ? {} : { agent_id: this.agent }),
      }),
    );
    this.emit(result, () => [
      `escalated ${result.task.id} (${result.escalation.id}): ${result.escalation.message}`,
      `${result.task.id} is ${result.task.status} until a human resolves it`,
    ]);
    return 0;
  }
}
