import { Command } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { renderWorkflowList } from '../workflow-view.js';

export class WorkflowListCommand extends LoomCommand {
  static override paths = [['workflow', 'list'], ['workflow']];

  static override usage = Command.Usage({
    category: 'Workflows',
    description: 'List the workflows (builtin, plugins, ~/.loom/workflows, .loom/workflows) and the broken workflow files',
    details: `
      A workflow is a YAML template of a task graph: its inputs, its steps and how they depend on each other. A workflow of a later source overrides one of the same name from an earlier source.

      INPUTS lists each input as name:type, marked * when required. A broken file is listed below the table with its file, line and reason, and skipped.
    `,
    examples: [
      ['Every workflow', '$0 workflow list'],
      ['As JSON', '$0 workflow list --json'],
    ],
  });

  async execute(): Promise<number> {
    const list = await this.withApi((api, project) => api.workflows({ project_id: project.project_id }));
    this.emit(list, () => renderWorkflowList(list));
    return 0;
  }
}
