import { Command, Option } from 'clipanion';
import { validationFailed } from '../../../domain/errors.js';
import type { UpdateTaskInput } from '../../../ports/loom-api.js';
import { LoomCommand } from '../base-command.js';
import { parseIdList, parseLabels, parseOptionalJsonObject, parsePositiveInt, parsePriority } from '../parse.js';

export class UpdateCommand extends LoomCommand {
  static override paths = [['update']];

  static override usage = Command.Usage({
    description: 'Change a task',
    details: `
      Changes only the fields you give. \`--depends-on\` replaces the whole dependency list (repeat it for several); \`--no-deps\` removes every dependency. \`--context\` replaces the context object. \`--done-when ""\` clears the acceptance criterion.

      \`--label\` replaces the whole label list (\`--no-labels\` removes them all); \`--add-label\` and \`--remove-label\` change some and keep the rest.
    `,
    examples: [
      ['Raise the priority', '$0 update loom-1a2b3c4d --priority p0'],
      ['Make a task wait for two others', '$0 update loom-1a2b3c4d --depends-on loom-5e6f7a8b --depends-on loom-9c0d1e2f'],
      ['Drop all dependencies', '$0 update loom-1a2b3c4d --no-deps'],
      ['Tag a task without touching its other labels', '$0 update loom-1a2b3c4d --add-label needs-review --remove-label wip'],
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
  label = Option.Array('--label', { description: 'The new label list (repeat for several)' });
  noLabels = Option.Boolean('--no-labels', false, { description: 'Remove every label' });
  addLabel = Option.Array('--add-label', { description: 'A label to add, keeping the others (repeat for several)' });
  removeLabel = Option.Array('--remove-label', { description: 'A label to remove, keeping the others (repeat for several)' });

  async execute(): Promise<number> {
    if (this.noDeps && this.dependsOn !== undefined) {
      throw validationFailed('give either --depends-on or --no-deps, not both');
    }
    if (this.noLabels && this.label !== undefined) {
      throw validationFailed('give either --label or --no-labels, not both', { flag: '--label' });
    }
    const labels = this.noLabels ? [] : parseLabels(this.label);
    const addLabels = parseLabels(this.addLabel);
    const removeLabels = parseLabels(this.removeLabel);
    if (labels !== undefined && (addLabels !== undefined || removeLabels !== undefined)) {
      throw validationFailed(`${this.noLabels ? '--no-labels' : '--label'} replaces every label: give it without --add-label and --remove-label`, { flag: '--label' });
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
      ...(labels === undefined ? {} : { labels }),
      ...(addLabels === undefined ? {} : { add_labels: addLabels }),
      ...(removeLabels === undefined ? {} : { remove_labels: removeLabels }),
    };
    if (Object.keys(changes).length === 0) {
      throw validationFailed(
        'nothing to update: give at least one of --title, --priority, --depends-on, --no-deps, --context, --done-when, --max-attempts, --label, --no-labels, --add-label, --remove-label',
      );
    }
    const task = await this.withApi((api, project) =>
      api.updateTask({ project_id: project.project_id, task_id: this.id, ...changes }),
    );
    this.emit(task, () => {
      const line = `updated ${task.id}  ${task.status}  ${task.priority}  ${task.title}`;
      return labels === undefined && addLabels === undefined && removeLabels === undefined ? line : [line, `labels: ${task.labels.length === 0 ? '(none)' : task.labels.join(', ')}`];
    });
    return 0;
  }
}
