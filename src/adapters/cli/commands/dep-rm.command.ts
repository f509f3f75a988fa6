import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { parseIdList } from '../parse.js';
import { dependencyLines } from './dep-add.command.js';

export class DepRmCommand extends LoomCommand {
  static override paths = [['dep', 'rm']];

  static override usage = Command.Usage({
    description: 'Stop a task waiting for some tasks',
    details: `
      Removes dependency edges from the task, keeping the others, in one transaction. A blocked task whose remaining dependencies are all done becomes pending (ready). An id that is not a dependency changes nothing; a dependency the task inherits from its epic stays (change the epic's instead).
    `,
    examples: [
      ['Stop loom-1a2b3c4d waiting for loom-5e6f7a8b', '$0 dep rm loom-1a2b3c4d loom-5e6f7a8b'],
    ],
  });

  id = Option.String({ name: 'id' });
  deps = Option.Rest({ name: 'dependency', required: 1 });

  async execute(): Promise<number> {
    const remove = parseIdList(this.deps) ?? [];
    const task = await this.withApi((api, project) => api.updateTask({ project_id: project.project_id, task_id: this.id, remove_depends_on: remove }));
    this.emit(task, () => {
      const lines = dependencyLines(task);
      const inherited = remove.filter((id) => task.depends_on.includes(id));
      if (inherited.length > 0) lines.push(`still waits for ${inherited.join(', ')}: inherited from its epic ${task.parent_id ?? ''}`.trimEnd());
      return lines;
    });
    return 0;
  }
}
