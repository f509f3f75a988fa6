import { Command, Option } from 'clipanion';
import { LoomError } from '../../../domain/errors.js';
import type { WorkflowRunResult } from '../../../ports/loom-api.js';
import { LoomCommand } from '../base-command.js';
import { parseBudgetUsd } from '../parse.js';
import { renderWorkflowDryRun, renderWorkflowStarted, runCommand } from '../workflow-view.js';

export class WorkflowRunCommand extends LoomCommand {
  static override paths = [['workflow', 'run']];

  static override usage = Command.Usage({
    category: 'Workflows',
    description: "Run a workflow: its epic and every step's tasks, wired, in one transaction",
    details: `
      Each input is given as --input name=value, once per input. Values are text, read by the input's declared type: a number (3), a boolean (true or false), a list (a JSON array like '["a","b"]', or comma-separated: a,b). \`loom workflow show NAME\` lists the inputs.

      With --dry-run: the tasks the run would make, grouped by wave (wave 1 can start first), the critical path and the steps left out (a false when, an empty for_each) with their reasons. Nothing is written.

      Without it: the epic, every task and edge and the run are written at once. Prints the run number, the epic and each step key's task id. With --run-key, the same key again writes nothing and prints the run it started.

      --parent puts the run's epic under an open epic.
    `,
    examples: [
      ['See what a run would make', '$0 workflow run ship_feature --input feature="CSV export" --dry-run'],
      ['Start it', '$0 workflow run ship_feature --input feature="CSV export" --input with_docs=false'],
      ['A list input, once per key', '$0 workflow run change_each_module --input change="use pino" --input modules=src/api,src/cli --run-key pino-1'],
    ],
  });

  name = Option.String({ name: 'name' });
  inputs = Option.Array('--input', { description: 'An input as name=value (repeat for several)' });
  dryRun = Option.Boolean('--dry-run', false, { description: 'Show the tasks the run would make; write nothing' });
  parent = Option.String('--parent', { description: "An open epic the run's epic goes under" });
  runKey = Option.String('--run-key', { description: 'The same key twice is one run: the second writes nothing' });
  budget = Option.String('--budget-usd', { description: 'A budget in dollars on the run: past it, no new claims under it (see loom budget)' });
  agent = Option.String('--agent', { description: 'Who starts the run, recorded as the origin of its tasks (default: $LOOM_AGENT_ID)' });

  async execute(): Promise<number> {
    const inputs = parseInputs(this.inputs ?? []);
    const agent = this.agent ?? (this.context.env.LOOM_AGENT_ID || undefined);
    const budget = parseBudgetUsd('--budget-usd', this.budget);
    const r: WorkflowRunResult = await this.withApi((api, project) =>
      api.runWorkflow({
        project_id: project.project_id,
        name: this.name,
        inputs,
        ...(this.dryRun ? { dry_run: true } : {}),
        ...(this.parent === undefined ? {} : { parent_id: this.parent }),
        ...(this.runKey === undefined ? {} : { run_key: this.runKey }),
        ...(budget === undefined ? {} : { budget_usd: budget }),
        ...(agent === undefined ? {} : { agent_id: agent }),
      }),
    );
    this.emit(r, () =>
      r.stage === 'dry_run'
        ? [
            ...renderWorkflowDryRun(r, this.parent === undefined ? {} : { parent: this.parent }),
            '',
            `Nothing was written. To start it: ${runCommand(this.name, inputs)}${this.parent === undefined ? '' : ` --parent ${this.parent}`}`,
          ]
        : renderWorkflowStarted(r, this.runKey),
    );
    return 0;
  }
}

/** `--input a=1 --input b=x=y` -> { a: '1', b: 'x=y' }: the first = splits; a name given twice is refused. */
export function parseInputs(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    const name = eq < 0 ? '' : v.slice(0, eq).trim();
    if (name === '') {
      throw new LoomError('VALIDATION_FAILED', `--input ${JSON.stringify(v.slice(0, 80))} is not name=value`, {
        hint: 'write --input feature="CSV export" (loom workflow show NAME lists the inputs). Nothing was written',
        details: { input: v.slice(0, 200) },
      });
    }
    if (Object.prototype.hasOwnProperty.call(out, name)) {
      throw new LoomError('VALIDATION_FAILED', `--input ${name} is given twice`, {
        hint: 'give each input once; a list input takes a JSON array or comma-separated values (--input modules=a,b). Nothing was written',
        details: { input: name.slice(0, 64) },
      });
    }
    out[name] = v.slice(eq + 1);
  }
  return out;
}
