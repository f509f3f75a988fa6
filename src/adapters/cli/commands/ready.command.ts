import { Command, Option } from 'clipanion';
import type { Task } from '../../../domain/task.js';
import { LoomCommand } from '../base-command.js';
import { age, renderTable } from '../output.js';
import { parseLabels, parsePositiveInt, parsePriority } from '../parse.js';

export class ReadyCommand extends LoomCommand {
  static override paths = [['ready']];

  static override usage = Command.Usage({
    description: 'List the tasks ready to be claimed',
    details: `
      Ready tasks are pending, have every dependency done and no retry backoff left. They are listed in the order \`loom claim\` takes them: priority, then critical-path weight (how much work each unblocks), then age. \`--label\` keeps the tasks having every label given.
    `,
    examples: [
      ['What can be worked on now', '$0 ready'],
      ['The five most urgent p0 tasks', '$0 ready --priority p0 --limit 5'],
      ['Ready work on the CLI', '$0 ready --label area:cli'],
    ],
  });

  limit = Option.String('--limit', { description: 'At most this many tasks' });
  priority = Option.String('--priority', { description: 'Only this priority: p0, p1 or p2' });
  label = Option.Array('--label', { description: 'Only tasks with this label (repeat: with all of them)' });

  async execute(): Promise<number> {
    const limit = parsePositiveInt('--limit', this.limit);
    const priority = parsePriority(this.priority);
    const labels = parseLabels(this.label);
    const tasks = await this.withApi((api, project) =>
      api.ready({
        project_id: project.project_id,
        ...(limit === undefined ? {} : { limit }),
        ...(priority === undefined ? {} : { priority }),
        ...(labels === undefined ? {} : { labels }),
      }),
    );
    const now = new Date();
    this.emit(tasks, () =>
      tasks.length === 0 && labels !== undefined
        ? `no ready task has the label${labels.length === 1 ? '' : 's'} ${labels.join(', ')}`
        : tasks.length === 0
        ? 'nothing ready: every open task is blocked, claimed, held or waiting to retry (see `loom status`)'
        : renderTable(tasks, [
            { header: 'ID', value: (t) => t.id },
            { header: 'PRI', value: (t) => t.priority },
            { header: 'WEIGHT', value: (t) => String(t.weight), align: 'right' },
            { header: 'AGE', value: (t) => age(t.created_at, now), align: 'right' },
            { header: 'TITLE', value: (t) => t.title },
            ...(tasks.some((t) => t.labels.length > 0) ? [{ header: 'LABELS', value: (t: Task) => t.labels.join(',') }] : []),
          ]),
    );
    return 0;
  }
}
