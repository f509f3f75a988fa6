import { Command } from 'clipanion';
import type { Task } from '../../../domain/task.js';
import type { TaskRef } from '../../../ports/loom-api.js';
import { LoomCommand } from '../base-command.js';
import { plural, renderTable } from '../output.js';

/** The dependents that wait for nothing but this task: finishing it makes them ready. */
export const waitingOnlyOn = (dependents: readonly TaskRef[]): TaskRef[] =>
  dependents.filter((t) => t.status === 'blocked' && t.blocked_reason === 'dependencies' && t.unmet_deps === 1);

export class NextCommand extends LoomCommand {
  static override paths = [['next']];

  static override usage = Command.Usage({
    description: 'Show the one task to work on next, and what finishing it unblocks',
    details: `
      The task \`loom ready\` lists first (priority, then how much work it unblocks, then age), and its dependents that wait for nothing else. Nothing is claimed: \`loom claim ID\` takes it.
    `,
    examples: [
      ['What to do next', '$0 next'],
      ['For a script', '$0 next --json'],
    ],
  });

  async execute(): Promise<number> {
    const result = await this.withApi(async (api, project): Promise<{ task: Task | null; unblocks: TaskRef[] }> => {
      const [task] = await api.ready({ project_id: project.project_id, limit: 1 });
      if (task === undefined) return { task: null, unblocks: [] };
      const detail = await api.status({ project_id: project.project_id, task_id: task.id });
      return { task, unblocks: waitingOnlyOn(detail.dependent_tasks) };
    });
    this.emit(result, () => {
      const { task, unblocks } = result;
      if (task === null) return 'nothing ready: every open task is blocked, claimed, held or waiting to retry (see `loom status`)';
      const lines = [`${task.id}  ${task.priority}  ${task.title}`];
      if (task.done_when !== null) lines.push(`done when: ${task.done_when}`);
      if (unblocks.length === 0) {
        lines.push('finishing it unblocks nothing by itself');
      } else {
        lines.push(
          `finishing it unblocks ${plural(unblocks.length, 'task')}:`,
          renderTable(unblocks, [
            { header: 'ID', value: (t) => t.id },
            { header: 'PRI', value: (t) => t.priority },
            { header: 'TITLE', value: (t) => t.title },
          ]),
        );
      }
      lines.push(`take it: loom claim ${task.id}`);
      return lines;
    });
    return 0;
  }
}
