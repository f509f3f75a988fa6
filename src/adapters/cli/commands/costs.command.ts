import { Command, Option } from 'clipanion';
import { formatUsd } from '../../../domain/usage.js';
import type { CostsReport } from '../../../ports/loom-api.js';
import { LoomCommand } from '../base-command.js';
import { groupDigits, renderTable, usageSummary } from '../output.js';
import { parsePositiveInt, parseSince, parseUsageGroupBy } from '../parse.js';

export class CostsCommand extends LoomCommand {
  static override paths = [['costs']];

  static override usage = Command.Usage({
    category: 'Orchestration',
    description: 'Show what agents spent (tokens, dollars) by task, epic, agent or day',
    details: `
      Adds up the usage agents reported with \`loom heartbeat\`, \`loom done\` and \`loom fail\` (\`--usage\`; MCP: the \`usage\` argument; \`loom orchestrate --run\` reads it from the agent command's output), most spent first. An epic's row covers everything below it, nested epics included; the epic of a workflow run shows the run's id. \`loom status EPIC\` shows an epic's total.

      \`--since\` takes a date (\`2026-11-30\`, UTC midnight), a time with its zone (\`2026-11-30T12:00:00Z\`), or an age (\`7d\`, \`12h\`). Dollars are exact to the micro-dollar.
    `,
    examples: [
      ['Spending per task', '$0 costs'],
      ['Which agent spent it, this week', '$0 costs --by agent --since 7d'],
      ['Per epic, as JSON', '$0 costs --by epic --json'],
    ],
  });

  by = Option.String('--by', { description: 'task (default), epic, agent or day' });
  since = Option.String('--since', { description: 'Only reports since: 2026-11-30, 2026-11-30T12:00:00Z, 7d, 12h' });
  limit = Option.String('--limit', { description: 'Most rows listed (default 50)' });

  async execute(): Promise<number> {
    const by = parseUsageGroupBy(this.by);
    const since = parseSince(this.since, new Date());
    const limit = parsePositiveInt('--limit', this.limit);
    const report = await this.withApi((api, project) =>
      api.costs({
        project_id: project.project_id,
        ...(by === undefined ? {} : { by }),
        ...(since === undefined ? {} : { since }),
        ...(limit === undefined ? {} : { limit }),
      }),
    );
    this.emit(report, () => render(report));
    return 0;
  }
}

const tokens = groupDigits;

function render(r: CostsReport): string[] {
  const head = `total${r.since === null ? '' : ` since ${r.since}`}: ${usageSummary(r.total)}`;
  if (r.groups.length === 0) return [head, 'no usage reported yet'];
  const label = r.by === 'task' || r.by === 'epic';
  return [
    head,
    renderTable(r.groups, [
      { header: r.by.toUpperCase(), value: (g) => g.key },
      ...(label ? [{ header: 'TITLE', value: (g: (typeof r.groups)[number]) => `${g.label ?? ''}${g.run_id === undefined ? '' : ` (run ${g.run_id})`}` }] : []),
      { header: 'COST', value: (g) => formatUsd(g.cost_micros) },
      { header: 'INPUT', value: (g) => tokens(g.input_tokens) },
      { header: 'OUTPUT', value: (g) => tokens(g.output_tokens) },
      { header: 'CACHE READ', value: (g) => tokens(g.cache_read_tokens) },
      { header: 'REPORTS', value: (g) => String(g.reports) },
    ]),
  ];
}
