import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { parseIdList, parseLabels, parseOptionalJsonObject, parseOrigin, parsePositiveInt, parsePriority } from '../parse.js';

export class CreateCommand extends LoomCommand {
  static override paths = [['create']];

  static override usage = Command.Usage({
    description: 'Create a task',
    details: `
      Creates a task in the project's graph. A task with unfinished dependencies starts \`blocked\` and becomes ready when they are done. \`--epic\` makes a container that completes itself when all its children are done.

      \`--label\` tags the task (lower case: letters, digits, \`. _ : -\`; repeat it, or separate with commas, for several): \`loom list --label\` and \`loom ready --label\` filter by them.

      \`--context\` is a JSON object handed to whoever claims the task. \`--origin\` says who filed it (default \`cli:$USER\`).

      With \`--quiet\` only the new id is printed, for scripts: \`id=$(loom create "Write tests" -q)\`.
    `,
    examples: [
      ['Create a task', '$0 create "Add login form"'],
      ['Create an urgent task that waits for two others', '$0 create "Ship release" --priority p0 --depends-on loom-1a2b3c4d --depends-on loom-5e6f7a8b'],
      ['Create an epic and a child of it', 'epic=$($0 create "Auth" --epic -q) && $0 create "Password reset" --parent $epic'],
      ['Tag a task', '$0 create "Fix the login redirect" --label bug --label area:auth'],
      ['Attach context and an acceptance criterion', `$0 create "Fix flaky test" --context '{"file":"tests/a.test.ts"}' --done-when "passes 20 runs in a row"`],
    ],
  });

  title = Option.String({ name: 'title' });
  priority = Option.String('--priority', { description: 'p0 (most urgent), p1 or p2' });
  dependsOn = Option.Array('--depends-on', { description: 'A task that must be done first (repeat for several)' });
  parent = Option.String('--parent', { description: 'The epic this task belongs to' });
  epic = Option.Boolean('--epic', false, { description: 'Create an epic: a container of tasks' });
  taskContext = Option.String('--context', { description: 'A JSON object with what the worker needs to know' });
  doneWhen = Option.String('--done-when', { description: 'Acceptance criterion, in words' });
  label = Option.Array('--label', { description: 'A label, such as bug or area:cli (repeat for several)' });
  maxAttempts = Option.String('--max-attempts', { description: 'How many claims may fail before the task is dead-lettered' });
  origin = Option.String('--origin', { description: 'Who filed it, as KIND:ID (default cli:$USER)' });
  quiet = Option.Boolean('-q,--quiet', false, { description: 'Print only the new task id' });

  async execute(): Promise<number> {
    const priority = parsePriority(this.priority);
    const dependsOn = parseIdList(this.dependsOn);
    const labels = parseLabels(this.label);
    const context = parseOptionalJsonObject('--context', this.taskContext);
    const maxAttempts = parsePositiveInt('--max-attempts', this.maxAttempts);
    const origin = parseOrigin(this.origin, this.context.env);
    const task = await this.withApi((api, project) =>
      api.createTask({
        project_id: project.project_id,
        title: this.title,
        origin,
        ...(priority === undefined ? {} : { priority }),
        ...(dependsOn === undefined ? {} : { depends_on: dependsOn }),
        ...(this.parent === undefined ? {} : { parent_id: this.parent }),
        ...(this.epic ? { epic: true } : {}),
        ...(context === undefined ? {} : { context }),
        ...(this.doneWhen === undefined ? {} : { done_when: this.doneWhen }),
        ...(labels === undefined ? {} : { labels }),
        ...(maxAttempts === undefined ? {} : { max_attempts: maxAttempts }),
      }),
    );
    if (this.quiet && !this.json) {
      this.print(task.id);
      return 0;
    }
    this.emit(task, () => {
      const lines = [`created ${task.id}  ${task.status}  ${task.title}`];
      if (task.status === 'blocked' && task.unmet_deps > 0) {
        lines.push(`waiting on ${task.unmet_deps} unfinished ${task.unmet_deps === 1 ? 'dependency' : 'dependencies'}: ${task.depends_on.join(', ')}`);
      }
      return lines;
    });
    return 0;
  }
}
