import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';

export class InitCommand extends LoomCommand {
  static override paths = [['init']];

  static override usage = Command.Usage({
    description: 'Create a Loom project in this directory',
    details: `
      Writes \`.loom/config.yaml\` with a new project (and the Claude Code \`.mcp.json\` entry). Running it again is safe: the existing project is kept and reported.
    `,
    examples: [
      ['Create a project named after the directory', '$0 init'],
      ['Create a project with a name', '$0 init --name "payments service"'],
    ],
  });

  name = Option.String('--name', { description: 'The project name (default: the directory name)' });

  async execute(): Promise<number> {
    const result = await this.context.connector.init({
      ...this.connectOptions(),
      ...(this.name === undefined ? {} : { name: this.name }),
    });
    this.emit(result, () => [
      `${result.created ? 'created project' : 'project already exists:'} ${result.project.name} (${result.project.id})`,
      `config  ${result.config_path}`,
      `mode    ${result.mode}`,
      ...(result.claude_code === undefined
        ? []
        : [
            `claude  .mcp.json ${result.claude_code.mcp_json} (the loom MCP server), AGENTS.md ${result.claude_code.agents_md} (how agents use Loom)`,
          ]),
      '',
      `next: loom create "First task", then start Claude Code here: it finds the loom tools in .mcp.json`,
    ]);
    return 0;
  }
}
