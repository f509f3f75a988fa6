import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { relativeTime, renderTable } from '../output.js';
import { parsePositiveInt } from '../parse.js';

export class DlqCommand extends LoomCommand {
  static override paths = [['dlq']];

  static override usage = Command.Usage({
    category: 'Orchestration',
    description: 'List the dead letters: tasks that failed for good',
    details: `
      A task is dead-lettered (\`failed\`) when its attempts run out or a failure is reported as not retryable. It is never ready again by itself: fix the cause, then put it back with \`loom redrive\`. Newest first, with the attempts used and the last failure.
    `,
    examples: [
      ['What failed for good', '$0 dlq'],
      ['The ten latest, as JSON', '$0 dlq --limit 10 --json'],
    ],
  });

  limit = Option.String('--limit', { description: 'At most this many tasks (default 100)' });

  async execute(): Promise<number> {
    const limit = parsePositiveInt('--limit', this.limit);
    const tasks = await this.withApi((api, project) =>
      api.deadLetters({ project_id: project.project_id, ...(limit === undefined ? {} : { limit }) }),
    );
    const now = new Date();
    this.emit(tasks, () =>
      tasks.length === 0
        ? 'no dead letters: no task has failed for good'
        : renderTable(tasks, [
            { header: 'ID', value: (t) => t.id },
            { header: 'ATTEMPTS', value: (t) => `${t.attempts}/${t.max_attempts}`, align: 'right' },
            { header: 'FAILED', value: (t) => relativeTime(t.updated_at, now) },
            { header: 'TITLE', value: (t) => t.title },
            { header: 'LAST FAILURE', value: (t) => firstLine(t.failure_reason) },
          ]),
    );
    return 0;
  }
}

/** The first line of a long text, marked when more was cut. */
const firstLine = (text: string | null): string => {
  const lines = (text ?? '').trim().split(/\r?\n/);
  return lines.length > 1 ? `${lines[0]!.trimEnd()} ...` : lines[0] === '' ? '-' : lines[0]!;
};
