import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';

export class ResumeCommand extends LoomCommand {
  static override paths = [['resume']];

  static override usage = Command.Usage({
    description: 'Resume a held task, or a held epic with everything below it',
    details: `
      Each resumed task gets the status it would have now: pending when its dependencies are done (including those that finished during the hold), blocked when some are not; a task that finished (done, cancelled) or failed while held stays so. Every resumed id is printed with its status.
    `,
    examples: [['Resume an epic', '$0 resume loom-1a2b3c4d']],
  });

  id = Option.String({ name: 'id' });

  async execute(): Promise<number> {
    const result = await this.withApi((api, project) => api.resume({ project_id: project.project_id, task_id: this.id }));
    this.emit(result, () => result.resumed.map((r) => `resumed ${r.id} (${r.status})`));
    return 0;
  }
}
