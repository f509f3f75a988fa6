import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';

export class CancelCommand extends LoomCommand {
  static override paths = [['cancel']];

  static override usage = Command.Usage({
    description: 'Cancel a task',
    details: `
      Cancels the task (and an epic's open children). Dependents follow the project's failure policy: they stay blocked with an escalation, or are cancelled too. Every cancelled id is printed.
    `,
    examples: [['Cancel a task', '$0 cancel loom-1a2b3c4d --reason "superseded by loom-5e6f7a8b"']],
  });

  id = Option.String({ name: 'id' });
  reason = Option.String('--reason', { description: 'Why, for the record' });

  async execute(): Promise<number> {
    const result = await this.withApi((api, project) =>
      api.cancel({
        project_id: project.project_id,
        task_id: this.id,
        ...(this.reason === undefined ? {} : { reason: this.reason }),
      }),
    );
    this.emit(result, () =>
      result.cancelled.length === 0
        ? `nothing cancelled: ${result.task.id} is ${result.task.status}`
        : result.cancelled.map((id) => `cancelled ${id}`),
    );
    return 0;
  }
}
