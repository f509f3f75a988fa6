import { Command, Option } from 'clipanion';
import { validationFailed } from '../../../domain/errors.js';
import type { Escalation } from '../../../domain/escalation.js';
import { LoomCommand } from '../base-command.js';
import { relativeTime, renderTable, type Column } from '../output.js';

export class EscalationsCommand extends LoomCommand {
  static override paths = [['escalations']];

  static override usage = Command.Usage({
    category: 'Orchestration',
    description: 'List the escalations: tasks waiting on a human',
    details: `
      Escalations are raised by agents (\`loom escalate\`, \`loom_escalate\`) or by policy (a dead letter, stuck work, a task bouncing between agents). The open ones are listed by default; settle one with \`loom resolve ID --action retry|cancel|done|unblock\`.
    `,
    examples: [
      ['What needs a human now', '$0 escalations'],
      ['Every escalation, with how it was resolved', '$0 escalations --all'],
    ],
  });

  all = Option.Boolean('--all', false, { description: 'Open and resolved escalations' });
  resolved = Option.Boolean('--resolved', false, { description: 'Only the resolved ones, with their resolution' });

  async execute(): Promise<number> {
    if (this.all && this.resolved) throw validationFailed('give either --all or --resolved, not both', { flag: '--resolved' });
    const status = this.all ? 'all' : this.resolved ? 'resolved' : 'open';
    const escalations = await this.withApi((api, project) => api.escalations({ project_id: project.project_id, status }));
    const now = new Date();
    const columns: Array<Column<Escalation>> = [
      { header: 'ID', value: (e) => e.id },
      { header: 'TASK', value: (e) => e.task_id },
      { header: 'SOURCE', value: (e) => (e.raised_by === null ? e.source : `${e.source}:${e.raised_by}`) },
      { header: 'RAISED', value: (e) => relativeTime(e.created_at, now) },
      ...(status === 'all' ? [{ header: 'STATUS', value: (e: Escalation) => e.status }] : []),
      {
        header: 'MESSAGE',
        value: (e) => (e.resolution === null ? firstLine(e.message) : `${firstLine(e.message)} -> ${firstLine(e.resolution)}`),
      },
    ];
    this.emit(escalations, () =>
      escalations.length === 0
        ? status === 'open'
          ? 'no open escalations: nothing waits on a human'
          : 'no escalations'
        : renderTable(escalations, columns),
    );
    return 0;
  }
}

/** The first line of a long text, marked when more was cut. */
const firstLine = (text: string): string => {
  const lines = text.trim().split(/\r?\n/);
  return lines.length > 1 ? `${lines[0]!.trimEnd()} ...` : lines[0]!;
};
