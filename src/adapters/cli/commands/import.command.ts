import { resolve } from 'node:path';
import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { summary } from './export.command.js';

export class ImportCommand extends LoomCommand {
  static override paths = [['import']];

  static override usage = Command.Usage({
    category: 'Project',
    description: 'Read a file `loom export` wrote into this directory\'s store',
    details: `
      Writes the file's project into the store this directory uses (the embedded store under .loom/data, or LOOM_DATABASE_URL) in one transaction, ids kept: all of it, or nothing. The project must not be in the store yet, or be empty there (as \`loom init\` leaves it); a task or escalation id the store already holds is a conflict (\`IMPORT_CONFLICT\`), never merged or overwritten. A file that does not fit (a damaged or hand-edited line, a cycle, an edge to a task that is not there) is \`IMPORT_INVALID\`, naming the line or the rule.

      Without the event log in the file, each task gets one \`task.imported\` event with the status it arrived in. Imported events are history: they are not sent to subscribers again.

      When the directory names no project yet, attach it afterwards with \`loom init --project ID\`.
    `,
    examples: [
      ['Import into this directory\'s store', '$0 import loom.jsonl'],
      ['Into a Postgres database', 'LOOM_DATABASE_URL=postgres://... $0 import loom.jsonl'],
    ],
  });

  file = Option.String({ name: 'file' });

  async execute(): Promise<number> {
    const r = await this.context.connector.importProject({ ...this.connectOptions(), path: resolve(this.file) });
    this.emit(r, () => {
      const lines = [`${summary('imported', r.result.project_id, r.result.counts)} into the ${r.mode} store (${r.result.events ? 'with its event log' : `no event log in the file: ${r.result.events_written - 1} task.imported events written`})`];
      if (r.current === null) lines.push(`this directory names no project yet: \`loom init --project ${r.result.project_id}\` attaches it`);
      else if (r.current !== r.result.project_id) lines.push(`this directory works on ${r.current}; \`loom init --project ${r.result.project_id}\` switches it to the imported one`);
      return lines;
    });
    return 0;
  }
}
