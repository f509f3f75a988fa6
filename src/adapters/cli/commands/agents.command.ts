import { Command } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { relativeTime, renderTable } from '../output.js';

export class AgentsCommand extends LoomCommand {
  static override paths = [['agents']];

  static override usage = Command.Usage({
    category: 'Orchestration',
    description: 'List the agents seen in the project, with their claims',
    details: `
      Every agent is registered on first contact. \`active\`: seen lately or holding a claim; \`idle\`: seen a while ago; \`gone\`: not seen for long. A gone agent's leases are not taken early: they expire like any other and their tasks go back to the queue.
    `,
    examples: [['Who is working on what', '$0 agents']],
  });

  async execute(): Promise<number> {
    const agents = await this.withApi((api, project) => api.agents({ project_id: project.project_id }));
    const now = new Date();
    this.emit(agents, () =>
      agents.length === 0
        ? 'no agents seen yet'
        : renderTable(agents, [
            { header: 'AGENT', value: (a) => a.agent_id },
            { header: 'STATUS', value: (a) => a.status },
            { header: 'LAST SEEN', value: (a) => relativeTime(a.last_seen, now) },
            { header: 'CLAIMS', value: (a) => (a.claims.length === 0 ? '-' : a.claims.join(', ')) },
          ]),
    );
    return 0;
  }
}
