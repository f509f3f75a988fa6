import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';

export class McpCommand extends LoomCommand {
  static override paths = [['mcp']];

  static override usage = Command.Usage({
    category: 'Agents',
    description: 'Serve the Loom MCP tools over stdio (what Claude Code runs)',
    details: `
      Speaks the Model Context Protocol on stdin/stdout: tools such as loom_ready, loom_claim and loom_done, plus live \`notifications/loom/task_event\` for every change in the project. \`loom init\` registers it in the project's \`.mcp.json\`, so Claude Code starts it by itself.

      Expired leases are recovered before the first tool is served. It stops when the client closes stdin, or on SIGTERM/SIGINT.
    `,
    examples: [
      ['Run by hand (for a client that speaks MCP on stdio)', '$0 mcp'],
      ['Serve with a fixed agent identity', '$0 mcp --agent-id reviewer'],
    ],
  });

  agentId = Option.String('--agent-id', { description: 'The agent identity of this session (default: the client name plus a random suffix)' });

  async execute(): Promise<number> {
    await this.context.connector.serveMcp({ ...this.connectOptions(), ...(this.agentId === undefined ? {} : { agentId: this.agentId }) });
    return 0;
  }
}
