import { Command, Option } from 'clipanion';
import { validationFailed } from '../../../domain/errors.js';
import type { Task } from '../../../domain/task.js';
import { LoomCommand } from '../base-command.js';
import { renderTable } from '../output.js';
import { parseLabels, parsePositiveInt, parseStatuses } from '../parse.js';

export const LIST_DEFAULT_LIMIT = 50;
export const LIST_MAX_LIMIT = 1000;

export class ListCommand extends LoomCommand {
  static override paths = [['list']];

  static override usage = Command.Usage({
    description: 'List tasks, filtered by status, title, epic or label',
    details: `
      Every task of the project, oldest first, with its status, priority and how many dependencies it has. Filters narrow the list: \`--status\` (repeat it, or separate with commas, for several), \`--search\` (a plain piece of the title, any case: \`%\` and \`_\` match themselves), \`--parent\` (the children of an epic), \`--label\` (tasks having every label given), \`--held\` (held tasks only: \`loom hold\`). A HELD column appears when a listed task is held.

      At most \`--limit\` tasks are listed (default ${LIST_DEFAULT_LIMIT}, at most ${LIST_MAX_LIMIT}). For one task in full, \`loom show ID\`.
    `,
    examples: [
      ['The first 50 tasks', '$0 list'],
      ['What is blocked or claimed', '$0 list --status blocked --status claimed'],
      ['Tasks whose title mentions login', '$0 list --search login'],
      ['What is held', '$0 list --held'],
      ['Open bugs of the CLI', '$0 list --label bug --label area:cli --status pending,blocked,claimed'],
      ['The open children of an epic, as JSON', '$0 list --parent loom-1a2b3c4d --status pending,blocked,claimed --json'],
    ],
  });

  status = Option.Array('--status', { description: 'Only tasks with this status (repeat for several)' });
  search = Option.String('--search', { description: 'Only tasks whose title contains this text (any case)' });
  parent = Option.String('--parent', { description: 'Only the children of this epic' });
  label = Option.Array('--label', { description: 'Only tasks with this label (repeat: with all of them)' });
  held = Option.Boolean('--held', false, { description: 'Only held tasks (see loom hold)' });
  limit = Option.String('--limit', { description: `At most this many tasks (default ${LIST_DEFAULT_LIMIT}, at most ${LIST_MAX_LIMIT})` });

  async execute(): Promise<number> {
    const statuses = parseStatuses(this.status);
    const labels = parseLabels(this.label);
    const limit = parsePositiveInt('--limit', this.limit) ?? LIST_DEFAULT_LIMIT;
    if (limit > LIST_MAX_LIMIT) throw validationFailed(`--limit must be at most ${LIST_MAX_LIMIT}, got ${limit}`, { flag: '--limit' });
    if (this.search !== undefined && this.search === '') throw validationFailed('--search needs some text to look for', { flag: '--search' });
    const tasks = await this.withApi((api, project) =>
      api.listTasks({
        project_id: project.project_id,
        limit,
        ...(statuses === undefined ? {} : { statuses }),
        ...(this.search === undefined ? {} : { search: this.search }),
        ...(this.parent === undefined ? {} : { parent_id: this.parent }),
        ...(labels === undefined ? {} : { labels }),
        ...(this.held ? { held: true } : {}),
      }),
    );
    const filtered = statuses !== undefined || this.search !== undefined || this.parent !== undefined || labels !== undefined || this.held;
    this.emit(tasks, () => {
      if (tasks.length === 0) return filtered ? 'no tasks match' : 'no tasks yet: loom create "First task"';
      const lines = [
        renderTable(tasks, [
          { header: 'ID', value: (t) => t.id },
          { header: 'STATUS', value: (t) => t.status },
          // Held gets a column only when some task listed is held.
          ...(tasks.some((t) => t.held_at !== null && t.held_at !== undefined) ? [{ header: 'HELD', value: (t: Task) => (t.held_at === null || t.held_at === undefined ? '' : 'held') }] : []),
          { header: 'PRI', value: (t) => t.priority },
          { header: 'DEPS', value: (t) => String(t.depends_on.length), align: 'right' },
          { header: 'TITLE', value: (t) => t.title },
          // Labels get a column only when some task listed has any.
          ...(tasks.some((t) => t.labels.length > 0) ? [{ header: 'LABELS', value: (t: Task) => t.labels.join(',') }] : []),
        ]),
      ];
      if (tasks.length === limit) lines.push(`(the first ${limit}; there may be more: raise --limit or narrow the filters)`);
      return lines;
    });
    return 0;
  }
}
