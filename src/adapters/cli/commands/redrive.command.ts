import { Command, Option } from 'clipanion';
import { validationFailed } from '../../../domain/errors.js';
import { LoomCommand } from '../base-command.js';

export class RedriveCommand extends LoomCommand {
  static override paths = [['redrive']];

  static override usage = Command.Usage({
    category: 'Orchestration',
    description: 'Put dead letters back in the queue',
    details: `
      Gives a failed task (or, with \`--all\`, every one) a fresh start: its attempts are reset, it is ready again (or waits on its dependencies), its open escalations close, and dependents it held up wait on it again. Fix what made it fail first; \`loom dlq\` shows the last failure.
    `,
    examples: [
      ['Redrive one task', '$0 redrive loom-1a2b3c4d'],
      ['Redrive every dead letter', '$0 redrive --all'],
    ],
  });

  id = Option.String({ name: 'id', required: false });
  all = Option.Boolean('--all', false, { description: 'Redrive every dead letter of the project' });

  async execute(): Promise<number> {
    if ((this.id === undefined) === !this.all) {
      throw validationFailed('give either a task id or --all (not both)', { flag: '--all' });
    }
    const id = this.id;
    const result = await this.withApi((api, project) =>
      api.redrive({ project_id: project.project_id, ...(id === undefined ? { all: true } : { task_id: id }) }),
    );
    this.emit(result, () =>
      result.redriven.length === 0 ? 'nothing to redrive: there are no dead letters' : result.redriven.map((r) => `redriven ${r}`),
    );
    return 0;
  }
}
