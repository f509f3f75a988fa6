import { Command, Option } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { printJson } from '../output.js';
import { parseGraphFormat } from '../parse.js';

export class GraphCommand extends LoomCommand {
  static override paths = [['graph']];

  static override usage = Command.Usage({
    description: 'Show the task graph',
    details: `
      Formats: \`summary\` (the default: counts and how parallel the open work is), \`waves\` (open work grouped into levels that can run in parallel), \`mermaid\` (a flowchart to paste into Markdown) and \`json\` (nodes, edges, waves).
    `,
    examples: [
      ['A summary', '$0 graph'],
      ['What can run in parallel', '$0 graph --format waves'],
      ['A Mermaid diagram', '$0 graph --format mermaid > graph.mmd'],
    ],
  });

  format = Option.String('--format', { description: 'summary, waves, mermaid or json' });

  async execute(): Promise<number> {
    const format = parseGraphFormat(this.format);
    const result = await this.withApi((api, project) => api.graph({ project_id: project.project_id, format }));
    if (this.json) {
      printJson(this.context.stdout, result);
    } else if (result.format === 'json') {
      printJson(this.context.stdout, result.graph);
    } else {
      this.print(result.text);
    }
    return 0;
  }
}
