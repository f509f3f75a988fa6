import { Command, Option } from 'clipanion';
import { LoomError } from '../../../domain/errors.js';
import { LoomCommand } from '../base-command.js';
import { renderRunDetail } from '../workflow-view.js';

export class WorkflowStatusCommand extends LoomCommand {
  static override paths = [['workflow', 'status']];

  static override usage = Command.Usage({
    category: 'Workflows',
    description: 'Show one workflow run: its inputs, and each step with its tasks and their statuses',
    details: `
      RUN is the run's number, as \`loom workflow run\` and \`loom workflow runs\` print it. A step left out (a false when, an empty for_each) is shown with its reason.
    `,
    examples: [
      ['Run 3', '$0 workflow status 3'],
      ['As JSON', '$0 workflow status 3 --json'],
    ],
  });

  run = Option.String({ name: 'run' });

  async execute(): Promise<number> {
    const runId = parseRunId(this.run);
    const detail = await this.withApi((api, project) => api.workflowRun({ project_id: project.project_id, run_id: runId }));
    this.emit(detail, () => renderRunDetail(detail));
    return 0;
  }
}

/** A run id is a whole number of at least 1. */
export function parseRunId(text: string): number {
  const t = text.trim();
  const n = /^\d{1,15}$/.test(t) ? Number(t) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new LoomError('VALIDATION_FAILED', `RUN must be a run number like 3, got ${JSON.stringify(text.slice(0, 80))}`, {
      hint: 'the run numbers are in the RUN column of `loom workflow runs`',
      details: { run: text.slice(0, 200) },
    });
  }
  return n;
}
