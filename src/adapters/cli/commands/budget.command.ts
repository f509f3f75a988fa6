import { Command, Option } from 'clipanion';
import type { BudgetView } from '../../../domain/budget.js';
import { validationFailed } from '../../../domain/errors.js';
import { LoomCommand } from '../base-command.js';
import { renderTable } from '../output.js';
import { parseBudgetUsd, parsePositiveInt } from '../parse.js';

const usd = (n: number): string => `$${n.toFixed(6)}`;
const where = (b: BudgetView): string => (b.epic_id === undefined ? 'project' : `${b.epic_id}${b.run_id === undefined ? '' : ` (run ${b.run_id})`}`);

function renderBudgets(budgets: readonly BudgetView[]): string[] {
  if (budgets.length === 0) return ['no budget set: `loom budget set USD [--epic ID | --run RUN_ID]` sets one'];
  return [
    renderTable(budgets, [
      { header: 'SCOPE', value: where },
      { header: 'TITLE', value: (b) => b.title ?? '' },
      { header: 'BUDGET', value: (b) => usd(b.budget_usd) },
      { header: 'SPENT', value: (b) => usd(b.spent_usd) },
      { header: '%', value: (b) => b.percent.toFixed(1) },
      { header: 'STATE', value: (b) => (b.state === 'exceeded' ? `EXCEEDED: claims stopped${b.escalation_id === null ? '' : ` (escalation ${b.escalation_id})`}` : b.state === 'warned' ? 'past 80%' : 'ok') },
    ]),
  ];
}

export class BudgetCommand extends LoomCommand {
  static override paths = [['budget']];

  static override usage = Command.Usage({
    category: 'Orchestration',
    description: 'Show the budgets (project, epics, workflow runs) with what was spent under each',
    details: `
      A budget is a limit in dollars on what agents report spending (\`usage.cost_usd\`, see \`loom costs\`) under the project, an epic (everything below it) or a workflow run (its epic). Past 80% Loom records a \`budget.warning\` event; at 100% it stops handing out new claims under it (\`loom claim\` and \`loom_claim\` answer BUDGET_EXCEEDED), holds the open work under it, and opens an escalation. Claims already made go on. \`loom budget set\` with a higher amount (or --clear) lifts the stop.
    `,
    examples: [
      ['List the budgets', '$0 budget'],
      ['As JSON', '$0 budget --json'],
    ],
  });

  async execute(): Promise<number> {
    const result = await this.withApi((api, project) => api.budgets({ project_id: project.project_id }));
    this.emit(result, () => renderBudgets(result.budgets));
    return 0;
  }
}

export class BudgetSetCommand extends LoomCommand {
  static override paths = [['budget', 'set']];

  static override usage = Command.Usage({
    category: 'Orchestration',
    description: 'Set, raise, lower or clear a budget in dollars',
    details: `
      Without --epic or --run the budget is the project's. Raising a budget above what was spent under it lifts its stop: the work it held resumes (each task to the status it would have now) and its escalation is resolved. Setting it at or below what was spent stops new claims under it at once (no escalation: you decided it). --clear removes the budget.

      A budget goes on an open epic (\`loom list --status epic\`) or a workflow run (\`loom workflow runs\`); amounts are dollars above 0, exact to the micro-dollar.
    `,
    examples: [
      ['Cap the project at $50', '$0 budget set 50'],
      ['Cap an epic at $5', '$0 budget set 5 --epic loom-1a2b3c4d'],
      ['Cap a workflow run', '$0 budget set 12.50 --run 3'],
      ['Remove the epic budget', '$0 budget set --clear --epic loom-1a2b3c4d'],
    ],
  });

  amount = Option.String({ name: 'usd', required: false });
  epic = Option.String('--epic', { description: 'The epic whose budget this is' });
  run = Option.String('--run', { description: 'A workflow run id: its epic\'s budget' });
  clear = Option.Boolean('--clear', false, { description: 'Remove the budget (lifts its stop)' });

  async execute(): Promise<number> {
    if (this.clear === (this.amount !== undefined)) {
      throw validationFailed(this.clear ? 'give an amount or --clear, not both' : 'give the budget in dollars (e.g. `loom budget set 25`), or --clear', { field: 'usd' });
    }
    const budget = parseBudgetUsd('the budget', this.amount) ?? null;
    const runId = parsePositiveInt('--run', this.run);
    const result = await this.withApi((api, project) =>
      api.setBudget({
        project_id: project.project_id,
        budget_usd: budget,
        ...(this.epic === undefined ? {} : { epic_id: this.epic }),
        ...(runId === undefined ? {} : { run_id: runId }),
      }),
    );
    this.emit(result, () => {
      const scope = this.epic !== undefined ? `epic ${this.epic}` : runId !== undefined ? `run ${runId}` : 'the project';
      const b = result.budget;
      return [
        b === null ? `budget of ${scope} cleared` : `budget of ${scope}: ${usd(b.budget_usd)} (${usd(b.spent_usd)} spent, ${b.percent.toFixed(1)}%)`,
        ...(result.resumed.length === 0 ? [] : [`resumed ${result.resumed.length} task(s) it held: ${result.resumed.join(', ')}`]),
        ...(result.held.length === 0 ? [] : [`the budget is spent: new claims under it stop; held ${result.held.length} open task(s)`]),
      ];
    });
    return 0;
  }
}
