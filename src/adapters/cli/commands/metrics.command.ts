import { Command } from 'clipanion';
import type { ProjectMetrics } from '../../../ports/loom-api.js';
import { LoomCommand } from '../base-command.js';

export class MetricsCommand extends LoomCommand {
  static override paths = [['metrics']];

  static override usage = Command.Usage({
    category: 'Orchestration',
    description: "Show the project's metrics: tasks by status, counters, claim-to-done latency",
    details: `
      Read from the database now, in any storage mode (embedded: through the daemon): tasks by status and ready, claims, completions, failures, lease expiries, retries and dead letters since the project began (counted from its events), claim-to-done latency, open escalations, agents by liveness, workflow runs by status and, in server mode, the outbox relay's lag.

      \`loom serve\` offers the same in the Prometheus text format at \`/metrics\` (behind its bearer token), with the latency of the MCP tool calls it answered.
    `,
    examples: [
      ['At a glance', '$0 metrics'],
      ['As JSON, for a script', '$0 metrics --json'],
    ],
  });

  async execute(): Promise<number> {
    const m = await this.withApi((api, project) => api.metrics({ project_id: project.project_id }));
    this.emit(m, () => describe(m));
    return 0;
  }
}

const nonzero = (counts: Record<string, number>): string => {
  const parts = Object.entries(counts).filter(([, n]) => n > 0);
  return parts.length === 0 ? 'none' : parts.map(([k, n]) => `${k} ${n}`).join(', ');
};

/** The median's bucket: the smallest bound holding half the completions. */
const medianBound = (h: ProjectMetrics['claim_to_done_seconds']): string => {
  if (h.count === 0) return '-';
  const b = h.buckets.find((x) => x.count >= h.count / 2);
  return b === undefined ? `over ${h.buckets[h.buckets.length - 1]!.le} s` : `<= ${b.le} s`;
};

function describe(m: ProjectMetrics): string[] {
  const c = m.counters;
  const h = m.claim_to_done_seconds;
  const lines = [
    `tasks          ${nonzero(m.tasks)}`,
    `ready          ${m.ready}`,
    `claims         ${c.claims}   completions ${c.completions}   failures ${c.failures}`,
    `lease expiries ${c.lease_expiries}   retries ${c.retries}   dead letters ${c.dead_letters}`,
    `claim to done  ${h.count === 0 ? 'no completions yet' : `mean ${(h.sum / h.count).toFixed(1)} s, median ${medianBound(h)} (${h.count} completions)`}`,
    `escalations    ${m.open_escalations} open`,
    `agents         ${nonzero(m.agents)}`,
    `workflow runs  ${nonzero(m.workflow_runs)}`,
  ];
  for (const r of m.relays) lines.push(`relay ${r.name}    lag ${r.lag_seconds.toFixed(1)} s`);
  if (m.events_behind > 0) lines.push(`(${m.events_behind} events not counted yet: the next call goes on counting)`);
  return lines;
}
