import { randomBytes } from 'node:crypto';
import { createReadStream, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Command, Option } from 'clipanion';
import type { ArchiveCounts } from '../../../ports/loom-api.js';
import { LoomCommand } from '../base-command.js';

export class ExportCommand extends LoomCommand {
  static override paths = [['export']];

  static override usage = Command.Usage({
    category: 'Project',
    description: 'Write the whole project to a JSON Lines file (or stdout)',
    details: `
      One line describes the project and what the file holds; then one line per row: tasks (with their context, output, labels and leases), dependency edges, escalations, agents, messages, skill and workflow runs, decompositions, usage reports and totals, budgets, and with \`--events\` the event log. Kinds come in a fixed order and rows in id order, and the file carries no time of its own, so exporting an unchanged project gives the same bytes and a change shows in \`git diff\` as the lines it touched. The project is read in one snapshot.

      \`loom import FILE\` reads it into another store (another directory's embedded store, or a Postgres database), ids kept. The file holds the lease tokens of tasks in flight: treat it like the database.
    `,
    examples: [
      ['Keep the project in git', '$0 export -o loom.jsonl'],
      ['With the event log', '$0 export --events -o loom-full.jsonl'],
      ['To stdout', '$0 export > loom.jsonl'],
    ],
  });

  events = Option.Boolean('--events', false, { description: 'Include the event log (the largest part of a long-lived project)' });
  output = Option.String('-o,--output', { description: 'Write to this file (default: stdout)' });

  async execute(): Promise<number> {
    const toStdout = this.output === undefined || this.output === '-';
    // The store writes the file (in embedded mode that is the project's daemon, on this machine).
    const path = toStdout ? join(tmpdir(), `loom-export-${process.pid}-${randomBytes(6).toString('hex')}.jsonl`) : resolve(this.output!);
    try {
      const events = this.events;
      const r = await this.withApi((api, project) => api.exportProject({ project_id: project.project_id, path, ...(events ? { events } : {}) }));
      if (toStdout) {
        await pipeline(createReadStream(path), this.context.stdout, { end: false });
        // With --json on stdout the file is the output; the summary goes to stderr.
        this.context.stderr.write(`${summary('exported', r.project_id, r.counts)}\n`);
        return 0;
      }
      this.emit(r, () => [`${summary('exported', r.project_id, r.counts)} to ${r.path} (${r.bytes} bytes, sha256 ${r.sha256.slice(0, 12)})`]);
      return 0;
    } finally {
      if (toStdout) rmSync(path, { force: true });
    }
  }
}

/** "exported prj-1: 12 tasks, 9 edges, 1 escalation, ..." with the kinds that have rows. */
export function summary(verb: string, projectId: string, counts: ArchiveCounts): string {
  const names: Record<keyof ArchiveCounts, [string, string]> = {
    task: ['task', 'tasks'],
    dep: ['edge', 'edges'],
    escalation: ['escalation', 'escalations'],
    agent: ['agent', 'agents'],
    message: ['message', 'messages'],
    skill_run: ['skill run', 'skill runs'],
    decomposition: ['decomposition', 'decompositions'],
    workflow_run: ['workflow run', 'workflow runs'],
    event: ['event', 'events'],
  };
  const parts = (Object.keys(names) as Array<keyof ArchiveCounts>).filter((k) => counts[k] > 0 || k === 'task').map((k) => `${counts[k]} ${names[k][counts[k] === 1 ? 0 : 1]}`);
  return `${verb} ${projectId}: ${parts.join(', ')}`;
}
