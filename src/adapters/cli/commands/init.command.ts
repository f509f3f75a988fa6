import { dirname } from 'node:path';
import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';

export class InitCommand extends LoomCommand {
  static override paths = [['init']];

  static override usage = Command.Usage({
    description: 'Create a Loom project in this directory',
    details: `
      Writes \`.loom/config.yaml\` with a new project (and the Claude Code \`.mcp.json\` entry). Running it again is safe: the existing project is kept and reported, also when several run at once.

      With \`--project ID\`, attaches this directory to a project that already exists in its database (after the config was lost or rewritten): \`loom project list\` shows them.
    `,
    examples: [
      ['Create a project named after the directory', '$0 init'],
      ['Create a project with a name', '$0 init --name "payments service"'],
      ['Attach this directory to an existing project', '$0 init --project prj-1a2b3c4d5e6f'],
    ],
  });

  name = Option.String('--name', { description: 'The project name (default: the directory name)' });
  project = Option.String('--project', { description: 'Attach to this existing project instead of creating one' });

  async execute(): Promise<number> {
    const result = await this.context.connector.init({
      ...this.connectOptions(),
      ...(this.name === undefined ? {} : { name: this.name }),
      ...(this.project === undefined ? {} : { project: this.project }),
    });
    this.emit(result, () => [
      this.project !== undefined
        ? `attached to project ${result.project.name} (${result.project.id})${result.previous_project === undefined ? '' : `; the config named ${result.previous_project} before (still in the database)`}`
        : result.from_config === true
          ? `created project ${result.project.name} (${result.project.id}) in this ${result.mode === 'embedded' ? 'clone\'s embedded store (.loom/data, not in git: it starts empty in each clone)' : 'database'}, as .loom/config.yaml names it`
          : `${result.created ? 'created project' : 'project already exists:'} ${result.project.name} (${result.project.id})`,
      ...(result.moved === undefined
        ? []
        : [`moved   ${result.moved.counts.task} tasks, ${result.moved.counts.dep} edges and ${result.moved.counts.event} events from the embedded store (.loom/data, kept as it was) to the server; its daemon was stopped`]),
      ...(result.enclosing === undefined
        ? []
        : [
            `note    this folder is inside project ${result.enclosing.name} (${result.enclosing.project_id}) of ${result.enclosing.dir}: loom commands and sessions here now use the new project, a task graph of its own`,
            `        to use ${result.enclosing.name} here instead: ${result.mode === 'embedded' ? '`loom daemon stop`, then ' : ''}remove ${dirname(result.config_path)} (it holds nothing yet); commands look for a project in the folders above`,
          ]),
      `config  ${result.config_path}`,
      `mode    ${result.mode}`,
      ...(result.claude_code === undefined
        ? []
        : [
            `claude  .mcp.json ${result.claude_code.mcp_json} (the loom MCP server), AGENTS.md ${result.claude_code.agents_md} (how agents use Loom)`,
            ...(result.claude_code.mcp_portable
              ? []
              : [
                  'note    .mcp.json names this machine\'s node and Loom by absolute path, so a teammate\'s clone cannot start it:',
                  // loom-agents is not on the npm registry: `npm i -D loom-agents` would fail (404)
                  `        put loom on the PATH (\`npm link\` in ${result.claude_code.loom_dir ?? 'your Loom checkout'}; each teammate in theirs), then \`loom init\` again writes plain \`loom mcp\``,
                ]),
          ]),
      '',
      `next: loom create "First task", then start Claude Code here: it finds the loom tools in .mcp.json`,
    ]);
    return 0;
  }
}
