import { Command, Option } from 'clipanion';
import type { Task } from '../../../domain/task.js';
import { LoomCommand } from '../base-command.js';
import { listOrNone } from '../output.js';
import { parseIdList } from '../parse.js';

export class DepAddCommand extends LoomCommand {
  static override paths = [['dep', 'add']];

  static override usage = Command.Usage({
    description: 'Make a task wait for more tasks',
    details: `
      Adds dependency edges to the task, keeping the ones it has (\`loom update --depends-on\` replaces the whole list). All edges are added in one transaction, or none: an edge that would close a cycle is refused with DEPENDENCY_CYCLE, an unknown task with DEPENDENCY_NOT_FOUND. A pending task that gains an unfinished dependency becomes blocked.
    `,
    examples: [
      ['Make loom-1a2b3c4d wait for loom-5e6f7a8b', '$0 dep add loom-1a2b3c4d loom-5e6f7a8b'],
      ['Wait for two more tasks', '$0 dep add loom-1a2b3c4d loom-5e6f7a8b loom-9c0d1e2f'],
    ],
  });

  id = Option.String({ name: 'id' });
  deps = Option.Rest({ name: 'dependency', required: 1 });

  async execute(): Promise<number> {
    const add = parseIdList(this.deps) ?? [];
    const task = await this.withApi((api, project) => api.updateTask({ project_id: project.project_id, task_id: this.id, add_depends_on: add }));
    this.emit(task, () => dependencyLines(task));
    return 0;
  }
}

/** What a task waits for after an edit, and whether that left it blocked. */
export function dependencyLines(task: Task): string[] {
  const lines = [`${task.id}  ${task.status}  ${task.title}`, `depends on: ${listOrNone(task.depends_on)}`];
  if (task.status === 'blocked' && task.blocked_reason === 'dependencies') lines.push(`waiting on ${task.unmet_deps} unfinished`);
  return lines;
}
