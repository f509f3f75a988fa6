import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { parsePositiveInt } from '../parse.js';
import { renderRuns } from '../workflow-view.js';

export class WorkflowRunsCommand extends LoomCommand {
  static override paths = [['workflow', 'runs']];

  static override usage = Command.Usage({
    category: 'Workflows',
    description: 'List the workflow runs of the project, newest first, with their status',
    details: `
      A run's status follows its epic and tasks: running, done, failed (a task failed), escalated (a task waits for a person) or cancelled. DONE counts the run's tasks that are done out of all of them.
    `,
    examples: [
      ['Every run', '$0 workflow runs'],
      ['The last five, as JSON', '$0 workflow runs --limit 5 --json'],
    ],
  });

  limit = Option.String('--limit', { description: 'At most this many runs (default 50)' });

  async execute(): Promise<number> {
    const limit = parsePositiveInt('--limit', this.limit);
    const runs = await this.withApi((api, project) => api.workflowRuns({ project_id: project.project_id, ...(limit === undefined ? {} : { limit }) }));
    this.emit(runs, () => renderRuns(runs));
    return 0;
  }
}
