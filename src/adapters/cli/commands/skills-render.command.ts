import { Command, Option } from 'clipanion';
import { LoomError } from '../../../domain/errors.js';
import { LoomCommand } from '../base-command.js';

export class SkillsRenderCommand extends LoomCommand {
  static override paths = [['skills', 'render']];

  static override usage = Command.Usage({
    category: 'Skills',
    description: 'Render a skill, for a task or on its own',
    details: `
      With --task, the template sees the task, its dependencies with their outputs, its epic, the project and a graph summary, and the run is recorded (see \`loom skills stats\`).

      Arguments are given as --arg name=value, once per argument.
    `,
    examples: [
      ['For a task', '$0 skills render write_spec --task loom-1a2b3c4d --arg feature="invoices"'],
      ['On its own', '$0 skills render define_done --arg feature=login'],
    ],
  });

  name = Option.String({ name: 'name' });
  task = Option.String('--task', { description: 'Render for this task (and record the run)' });
  args = Option.Array('--arg', { description: 'An argument as name=value (repeat for several)' });
  agent = Option.String('--agent', { description: 'Who renders it, recorded with the run (default: $LOOM_AGENT_ID)' });

  async execute(): Promise<number> {
    const args: Record<string, string> = {};
    for (const a of this.args ?? []) {
      const eq = a.indexOf('=');
      if (eq <= 0) {
        throw new LoomError('VALIDATION_FAILED', `--arg ${JSON.stringify(a)} is not name=value`, { hint: 'write --arg feature="the login page"' });
      }
      args[a.slice(0, eq)] = a.slice(eq + 1);
    }
    const agent = this.agent ?? (this.context.env.LOOM_AGENT_ID || undefined);
    const r = await this.withApi((api, project) =>
      api.renderSkill({
        project_id: project.project_id,
        name: this.name,
        ...(this.task === undefined ? {} : { task_id: this.task }),
        ...(Object.keys(args).length === 0 ? {} : { arguments: args }),
        ...(agent === undefined || this.task === undefined ? {} : { agent_id: agent }),
      }),
    );
    this.emit(r, () => r.text);
    return 0;
  }
}
