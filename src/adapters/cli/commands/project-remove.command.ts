import { Command, Option } from 'clipanion';
import { LoomError, projectRemoved } from '../../../domain/errors.js';
import { LoomCommand } from '../base-command.js';

export class ProjectRemoveCommand extends LoomCommand {
  static override paths = [['project', 'remove']];

  static override usage = Command.Usage({
    category: 'Project',
    description: "Remove the directory's project: cancel its open work and close it to writes",
    details: `
      Cancels every open task of the project (pending, blocked, claimed, epics), resolves its open escalations, records the events and marks the project removed, in one transaction. Afterwards every write to it (create, update, claim, done, fail, heartbeat, escalate, message, hold, resume, workflow run, decompose, import) answers PROJECT_REMOVED; reads (status, list, show, export, events) still work.

      Without \`--yes\` nothing is changed: it prints what would be cancelled and refuses (VALIDATION_FAILED), on a terminal or not.
    `,
    examples: [
      ['See what removal would cancel', '$0 project remove'],
      ['Remove the project', '$0 project remove --yes'],
    ],
  });

  yes = Option.Boolean('--yes', false, { description: 'Remove it (without this flag nothing is changed)' });

  async execute(): Promise<number> {
    const result = await this.withApi(async (api, project) => {
      const p = project.project_id;
      if (this.yes) return api.removeProject({ project_id: p });
      const current = await api.getProject({ project_id: p });
      if (current.removed_at !== undefined && current.removed_at !== null) throw projectRemoved(p, current.removed_at);
      const counts = (await api.projects({})).find((x) => x.id === p)?.counts ?? {};
      const escalations = (await api.escalations({ project_id: p, status: 'open' })).length;
      const open = { pending: counts.pending ?? 0, blocked: counts.blocked ?? 0, claimed: counts.claimed ?? 0, epic: counts.epic ?? 0 };
      const total = open.pending + open.blocked + open.claimed + open.epic;
      throw new LoomError(
        'VALIDATION_FAILED',
        `removing project ${p} (${current.name}) would cancel ${total} open task(s) (${open.pending} pending, ${open.blocked} blocked, ${open.claimed} claimed, ${open.epic} epics) and resolve ${escalations} open escalation(s); nothing was changed`,
        { hint: 'pass --yes to remove it: `loom project remove --yes`', details: { project_id: p, would_cancel: open, open_escalations: escalations } },
      );
    });
    this.emit(result, () => [
      `removed project ${result.project.id} (${result.project.name})`,
      `cancelled ${result.cancelled.length} task(s), resolved ${result.escalations_resolved.length} escalation(s)`,
      'its history stays readable: loom status, loom list, loom export',
    ]);
    return 0;
  }
}
