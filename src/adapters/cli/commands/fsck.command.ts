import { Command, Option } from 'clipanion';
import type { FsckFinding, FsckReport } from '../../../ports/loom-api.js';
import { LoomCommand } from '../base-command.js';
import { indent, plural, renderTable } from '../output.js';

/** Ids shown in a table cell; the message and --json have them all. */
const IDS_SHOWN = 3;

export class FsckCommand extends LoomCommand {
  static override paths = [['fsck']];

  static override usage = Command.Usage({
    category: 'Orchestration',
    description: "Check the stored task graph against Loom's invariants",
    details: `
      Reads the whole project in one snapshot and checks: no dependency cycle (an epic waits for its children too); every claimed task holds a lease; no done task has a dependency that is not done (unless a person marked it done); every unmet_deps counter and critical-path weight is right; epics agree with their children (a done epic has no open child, open children carry the epic's dependencies); blocked and pending agree with the counters; each task's status agrees with its latest status event. Each violation is listed with the task ids involved. What the next reconcile tick will handle anyway (an expired lease, an epic whose children finished) is listed as due, not as a violation.

      \`--repair\` first recomputes, in one transaction, what follows from the graph itself: unmet_deps of every task, the weights of open work, and the statuses those counters decide (blocked on dependencies with none unmet becomes pending; pending with unmet dependencies becomes blocked), with their events. Then it checks again and lists what remains for a person.

      Exits 1 while a violation remains, 0 otherwise.
    `,
    examples: [
      ['Check the project', '$0 fsck'],
      ['Recompute counters and weights, then check again', '$0 fsck --repair'],
      ['The report as JSON', '$0 fsck --json'],
    ],
  });

  repair = Option.Boolean('--repair', false, { description: 'Recompute unmet_deps, weights and the statuses they decide, then check again' });

  async execute(): Promise<number> {
    const repair = this.repair;
    const report = await this.withApi((api, project) => api.fsck({ project_id: project.project_id, ...(repair ? { repair } : {}) }));
    this.emit(report, () => renderReport(report));
    return report.ok ? 0 : 1;
  }
}

function renderReport(r: FsckReport): string[] {
  const lines = [`checked ${plural(r.checked.tasks, 'task')}, ${r.checked.edges} ${r.checked.edges === 1 ? 'dependency' : 'dependencies'}, ${plural(r.checked.events, 'event')}`];
  if (r.repaired !== undefined) {
    const c = r.repaired.counts;
    const parts = [
      [c.unmet_deps, 'unmet_deps counter(s) recounted', r.repaired.unmet_deps],
      [c.weights, 'weight(s) recomputed', r.repaired.weights],
      [c.unblocked, 'task(s) unblocked', r.repaired.unblocked],
      [c.blocked, 'task(s) blocked on their dependencies', r.repaired.blocked],
    ] as const;
    const done = parts.filter(([n]) => n > 0).map(([n, what, ids]) => `${n} ${what}: ${ids.join(', ')}${ids.length < n ? `, ... (${n - ids.length} more)` : ''}`);
    lines.push(done.length === 0 ? 'repair: nothing to recompute' : `repair:\n${indent(done.join('\n'))}`);
  }
  if (r.violations.length > 0) lines.push('', `violations\n${indent(findingsTable(r.violations))}`);
  if (r.due.length > 0) lines.push('', `due (the next reconcile tick handles these)\n${indent(findingsTable(r.due))}`);
  lines.push(
    '',
    r.ok
      ? 'ok: no violations'
      : `${plural(r.totals.violations, 'violation')} ${r.repaired === undefined ? "found: `loom fsck --repair` recomputes counters, weights and the statuses they decide; the rest needs a person" : 'remain: these need a person'}`,
  );
  return lines;
}

function findingsTable(findings: readonly FsckFinding[]): string {
  return renderTable(findings, [
    { header: 'CHECK', value: (f) => f.check },
    {
      header: 'TASKS',
      value: (f) => (f.task_ids.length <= IDS_SHOWN ? f.task_ids.join(',') || '-' : `${f.task_ids.slice(0, IDS_SHOWN).join(',')},+${f.task_ids.length - IDS_SHOWN}`),
    },
    { header: 'MESSAGE', value: (f) => f.message },
  ]);
}
