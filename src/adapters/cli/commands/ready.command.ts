import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { age, renderTable } from '../output.js';
import { parsePositiveInt, parsePriority } from '../parse.js';

export class ReadyCommand extends LoomCommand {
  static override paths = [['ready']];

  static override usage = Command.Usage({
    description: 'List the tasks ready to be claimed',
    details: `
      Ready tasks are pending, have every dependency done and no retry backoff left. They are listed in the order \`loom claim\` takes them: priority, then critical-path weight (how much work each unblocks), then age.
    `,
    examples: [
      ['What can be worked on now', '$0 ready'],
      ['The five most urgent p0 tasks', '$0 ready --priority p0 --limit 5'],
    ],
  });

  limit = Option.String('--limit', { description: 'At most this many tasks' });
  priority = Option.String('--priority', { description: 'Only this priority: p0, p1 or p2' });

  async execute(): Promise<number> {
    const limit = parsePositiveInt('--limit', this.limit);
    const priority = parsePriority(this.priority);
    const tasks = await this.withApi((api, project) =>
      api.ready({
        project_id: project.project_id,
        ...(limit === undefined ? {} : { limit }),
        ...(priority === undefined ? {} : { priority }),
      }),
    );
    const now = new Date();
    this.emit(tasks, () =>
      tasks.length === 0
        ? 'nothing ready: every open task is blocked, claimed or waiting to retry (see `loom status`)'
        : renderTable(tasks, [
            { header: 'ID', value: (t) => t.id },
            { header: 'PRI', value: (t) => t.priority },
            { header: 'WEIGHT', value: (t) => String(t.weight), align: 'right' },
            { header: 'AGE', value: (t) => age(t.created_at, now), align: 'right' },
            { header: 'TITLE', value: (t) => t.title },
          ]),
    );
    return 0;
  }
}
