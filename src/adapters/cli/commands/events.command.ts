import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { renderTable, shortTime } from '../output.js';
import { parseNonNegativeInt, parsePositiveInt } from '../parse.js';

export class EventsCommand extends LoomCommand {
  static override paths = [['events']];

  static override usage = Command.Usage({
    description: "List the project's events",
    details: `
      The append-only log of what happened: tasks created, claimed, done, failed, escalations, ... \`--since N\` lists the events after event id N, so a script can poll from the last id it saw.
    `,
    examples: [
      ['The latest events', '$0 events'],
      ['Events after id 120, at most 50', '$0 events --since 120 --limit 50'],
    ],
  });

  since = Option.String('--since', { description: 'Only events after this event id' });
  limit = Option.String('--limit', { description: 'At most this many events' });

  async execute(): Promise<number> {
    const since = parseNonNegativeInt('--since', this.since);
    const limit = parsePositiveInt('--limit', this.limit);
    const events = await this.withApi((api, project) =>
      api.events({
        project_id: project.project_id,
        ...(since === undefined ? {} : { since }),
        ...(limit === undefined ? {} : { limit }),
      }),
    );
    this.emit(events, () =>
      events.length === 0
        ? since === undefined
          ? 'no events yet'
          : `no events after ${since}`
        : renderTable(events, [
            { header: 'ID', value: (e) => String(e.id), align: 'right' },
            { header: 'TIME', value: (e) => shortTime(e.at) },
            { header: 'TYPE', value: (e) => e.type },
            { header: 'TASK', value: (e) => e.task_id ?? '-' },
            { header: 'AGENT', value: (e) => e.agent_id ?? '-' },
          ]),
    );
    return 0;
  }
}
