import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';

export class WorkflowNewCommand extends LoomCommand {
  static override paths = [['workflow', 'new']];

  static override usage = Command.Usage({
    category: 'Workflows',
    description: 'Write a new workflow skeleton to .loom/workflows/NAME.yaml',
    details: 'The skeleton is a valid, commented workflow (an input, three steps, one of them optional): edit its description, inputs and steps. An existing file is never overwritten.',
    examples: [['A release workflow', '$0 workflow new release_train']],
  });

  name = Option.String({ name: 'name' });

  async execute(): Promise<number> {
    const r = await this.context.connector.newWorkflow({ ...this.connectOptions(), name: this.name });
    this.emit(r, () => [`wrote ${r.path}`, `edit it, then: loom workflow show ${this.name}`, `try it: loom workflow run ${this.name} --input goal="..." --dry-run`]);
    return 0;
  }
}
