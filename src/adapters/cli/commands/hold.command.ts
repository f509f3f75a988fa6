import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';

export class HoldCommand extends LoomCommand {
  static override paths = [['hold']];

  static override usage = Command.Usage({
    description: 'Hold a task, or an epic with everything below it',
    details: `
      A held task is never ready and never claimed until \`loom resume\`. Nothing is cancelled: a dependency that finishes meanwhile still counts, and a task already claimed runs out its lease (its done or fail is recorded) but is not retried or handed to another agent while held. Children created under a held epic are held too. Every held id is printed; \`loom list --held\` shows them later.

      A done or cancelled task cannot be held (INVALID_TRANSITION).
    `,
    examples: [
      ['Pause an epic while its design is reviewed', '$0 hold loom-1a2b3c4d --reason "waiting for the API review"'],
      ['Pause one task', '$0 hold loom-5e6f7a8b'],
    ],
  });

  id = Option.String({ name: 'id' });
  reason = Option.String('--reason', { description: 'Why, shown by loom status and loom show' });

  async execute(): Promise<number> {
    const result = await this.withApi((api, project) =>
      api.hold({
        project_id: project.project_id,
        task_id: this.id,
        ...(this.reason === undefined ? {} : { reason: this.reason }),
      }),
    );
    this.emit(result, () => (result.held.length === 0 ? `nothing to hold: ${result.task.id} and everything below it are held already` : result.held.map((id) => `held ${id}`)));
    return 0;
  }
}
