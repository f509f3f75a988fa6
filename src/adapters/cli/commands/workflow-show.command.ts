import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { renderWorkflowDetail } from '../workflow-view.js';

export class WorkflowShowCommand extends LoomCommand {
  static override paths = [['workflow', 'show']];

  static override usage = Command.Usage({
    category: 'Workflows',
    description: 'Show one workflow: its inputs, its steps and its file',
    details: `
      Each input with its type, whether it is required, its default, its allowed values and description; each step with its title template, what it waits for (after), its skill, and its when, for_each, uses and loop.

      --json prints the API's result, with the file's text.
    `,
    examples: [
      ['Show ship_feature', '$0 workflow show ship_feature'],
      ['With the file text, as JSON', '$0 workflow show ship_feature --json'],
    ],
  });

  name = Option.String({ name: 'name' });

  async execute(): Promise<number> {
    const w = await this.withApi((api, project) => api.workflow({ project_id: project.project_id, name: this.name }));
    this.emit(w, () => renderWorkflowDetail(w));
    return 0;
  }
}
