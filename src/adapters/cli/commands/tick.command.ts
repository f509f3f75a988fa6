import { Command } from 'clipanion';
import type { TickReport } from '../../../ports/loom-api.js';
import { LoomCommand } from '../base-command.js';
import { renderFields } from '../output.js';

const LINES: ReadonlyArray<[keyof TickReport, string]> = [
  ['requeued', 'requeued'],
  ['dead_lettered', 'dead-lettered'],
  ['escalated', 'escalated'],
  ['stuck', 'stuck'],
  ['epics_completed', 'epics completed'],
  ['dependents_blocked', 'dependents blocked'],
  ['dependents_cancelled', 'dependents cancelled'],
  ['workflow_steps_decided', 'workflow steps decided'],
];

export class TickCommand extends LoomCommand {
  static override paths = [['tick']];

  static override usage = Command.Usage({
    category: 'Orchestration',
    description: 'Run one reconcile tick now',
    details: `
      What the daemon does every few seconds, once: expired leases are requeued (or dead-lettered when their attempts ran out), stuck work is escalated, epics whose children are done complete, and dependents of failed or cancelled tasks follow the failure policy. Safe to run at any time, also while a daemon or another tick runs: nothing is acted on twice.
    `,
    examples: [['Reconcile now', '$0 tick']],
  });

  async execute(): Promise<number> {
    const report = await this.withApi((api, project) => api.reconcile({ project_id: project.project_id }));
    this.emit(report, () => {
      const fields = LINES.filter(([key]) => (report[key] ?? []).length > 0).map(([key, label]): [string, string] => [label, (report[key] ?? []).join(', ')]);
      return fields.length === 0 ? 'nothing to do' : renderFields(fields);
    });
    return 0;
  }
}
