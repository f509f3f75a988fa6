import { Command, Option } from 'clipanion';
import { validationFailed } from '../../../domain/errors.js';
import type { UpdateTaskInput } from '../../../ports/loom-api.js';
import { LoomCommand } from '../base-command.js';
import { parseIdList, parseOptionalJsonObject, parsePositiveInt, parsePriority } from '../parse.js';

export class UpdateCommand extends LoomCommand {
  static override paths = [['update']];

  static override usage = Command.Usage({
    description: 'Change a task',
    details: `
      Changes only the fields you give. \`--depends-on\` replaces the whole dependency list (repeat it for several); \`--no-deps\` removes every dependency. \`--context\` replaces the context object. \`--done-when ""\` clears the acceptance criterion.
    `,
    examples: [
      ['Raise the priority', '$0 update loom-1a2b3c4d --priority p0'],
      ['Make a task wait for two others', '$0 update loom-1a2b3c4d --depends-on loom-5e6f7a8b --depends-on loom-9c0d1e2f'],
      ['Drop all dependencies', '$0 update loom-1a2b3c4d --no-deps'],
    ],
  });

  id = Option.String({ name: 'id' });
  title = Option.String('--title', { description: 'A new title' });
  priority = Option.String('--priority', { description: 'p0 (most urgent), p1 or p2' });
  dependsOn = Option.Array('--depends-on', { description: 'The new dependency list (repeat for several)' });
  noDeps = Option.Boolean('--no-deps', false, { description: 'Remove every dependency' });
  taskContext = Option.String('--context', { description: 'A JSON object replacing the context' });
  doneWhen = Option.String('--done-when', { description: 'Acceptance criterion, in words ("" clears it)' });
  maxAttempts = Option.String('--max-attempts', { description: 'How many claims may fail before the task is dead-lettered' });

  async execute(): Promise<number> {
    if (this.noDeps && this.dependsOn !== undefined) {
      throw validationFailed('give either --depends-on or --no-deps, not both');
    }
    const priority = parsePriority(this.priority);
    const dependsOn = this.noDeps ? [] : parseIdList(this.dependsOn);
    const context = parseOptionalJsonObject('--context', this.taskContext);
    const maxAttempts = parsePositiveInt('--max-attempts', this.maxAttempts);
    const changes: Omit<UpdateTaskInput, 'project_id' | 'task_id'> = {
      ...(this.title === undefined ? {} : { title: this.title }),
      ...(priority === undefined ? {} : { priority }),
      ...(dependsOn === undefined ? {} : { depends_on: dependsOn }),
      ...(context === undefined ? {} : { context }),
      ...(this.doneWhen === undefined ? {} : { done_when: this.doneWhen === '' ? null : this.doneWhen }),
      ...(maxAttempts === undefined ? {} : { max_attempts: maxAttempts }),
    };
    if (Object.keys(changes).length === 0) {
      throw validationFailed(
        'nothing to update: give at least one of --title, --priority, --depends-on, --no-deps, --context, --done-when, --max-attempts',
      );
    }
    const task = await this.withApi((api, project) =>
      api.updateTask({ project_id: project.project_id, task_id: this.id, ...changes }),
    );
    this.emit(task, () => `updated ${task.id}  ${task.status}  ${task.priority}  ${task.title}`);
    return 0;
  }
}
