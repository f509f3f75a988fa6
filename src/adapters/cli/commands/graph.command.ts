import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'clipanion';
import { LoomError, validationFailed } from '../../../domain/errors.js';
import { MAX_PICTURE_EDGES, MAX_PICTURE_NODES } from '../../../domain/graph-picture.js';
import { GRAPH_FORMATS, type GraphFormat } from '../../../domain/graph.js';
import { LoomCommand } from '../base-command.js';
import { groupDigits, printJson } from '../output.js';

/** What `loom graph` writes: the API's formats, and the pictures drawn here from its DOT. */
const CLI_FORMATS = [...GRAPH_FORMATS, 'svg', 'html'] as const;
type CliFormat = (typeof CLI_FORMATS)[number];

function parseFormat(text: string | undefined): CliFormat {
  if (text === undefined) return 'summary';
  if ((CLI_FORMATS as readonly string[]).includes(text)) return text as CliFormat;
  throw validationFailed(`--format must be one of ${CLI_FORMATS.join(', ')}, got '${text}'`, { flag: '--format' });
}

export class GraphCommand extends LoomCommand {
  static override paths = [['graph']];

  static override usage = Command.Usage({
    description: 'Show the task graph',
    details: `
      Formats: \`summary\` (the default: counts and how parallel the open work is), \`waves\` (open work grouped into levels that can run in parallel), \`mermaid\` (a flowchart to paste into Markdown), \`json\` (nodes, edges, waves), and pictures: \`dot\` (Graphviz text), \`svg\` (laid out by Graphviz compiled to WebAssembly: no system Graphviz needed) and \`html\` (one self-contained page that works offline: the SVG coloured by status with the critical path highlighted, a legend, and each task's details on click).

      In pictures an epic that is done or cancelled with everything below it finished is drawn as one node (\`--expand\` draws every task). \`svg\` and \`html\` draw at most ${groupDigits(MAX_PICTURE_NODES)} nodes and ${groupDigits(MAX_PICTURE_EDGES)} edges (GRAPH_TOO_LARGE past that: draw one epic with \`--epic\`). \`--epic ID\` keeps that epic and everything below it, in every format.
    `,
    examples: [
      ['A summary', '$0 graph'],
      ['What can run in parallel', '$0 graph --format waves'],
      ['A Mermaid diagram', '$0 graph --format mermaid > graph.mmd'],
      ['A page to open in a browser', '$0 graph --format html -o graph.html'],
      ['One epic as SVG', '$0 graph --format svg --epic loom-1a2b3c4d -o epic.svg'],
    ],
  });

  format = Option.String('--format', { description: 'summary, waves, mermaid, json, dot, svg or html' });
  epic = Option.String('--epic', { description: 'Only this epic and everything below it' });
  expand = Option.Boolean('--expand', false, { description: 'Pictures: draw every task, also inside finished epics' });
  output = Option.String('-o,--output', { description: 'Write to this file (default: stdout)' });

  async execute(): Promise<number> {
    const format = parseFormat(this.format);
    const picture = format === 'svg' || format === 'html';
    const apiFormat: GraphFormat = picture ? 'dot' : format;
    const epic = this.epic;
    const expand = this.expand;
    const { result, name } = await this.withApi(async (api, project) => {
      const r = await api.graph({ project_id: project.project_id, format: apiFormat, ...(epic === undefined ? {} : { epic_id: epic }), ...(expand ? { expand } : {}) });
      const name = format === 'html' ? (await api.getProject({ project_id: project.project_id })).name : '';
      return { result: r, name };
    });
    if (picture) {
      if (result.format !== 'dot') throw new LoomError('INTERNAL', `asked for dot, got ${result.format}`);
      const scope = epic === undefined ? name : `${name}: epic ${epic}`;
      const text =
        format === 'svg'
          ? await this.context.pictures.svg({ dot: result.text, picture: result.picture })
          : await this.context.pictures.html({ dot: result.text, picture: result.picture, title: `Loom graph of ${scope}` });
      const p = result.picture;
      const facts = { format, nodes: p.nodes.length, edges: p.edges.length, tasks: p.tasks, collapsed_tasks: p.collapsed_tasks, critical_path: p.critical_path };
      if (this.output === undefined || this.output === '-') {
        if (this.json) printJson(this.context.stdout, { ...facts, text });
        else this.context.stdout.write(text);
        return 0;
      }
      const path = this.writeOutput(text);
      this.emit({ ...facts, path, bytes: Buffer.byteLength(text) }, () =>
        `wrote ${path}: ${p.nodes.length} nodes (${p.tasks} tasks${p.collapsed_tasks > 0 ? `, ${p.collapsed_tasks} inside finished epics` : ''}), ${p.edges.length} edges, critical path ${p.critical_path.length === 0 ? 'none' : `${p.critical_path.length} tasks`}`,
      );
      return 0;
    }
    if (this.output !== undefined && this.output !== '-') {
      const text = this.json || result.format === 'json' ? `${JSON.stringify(this.json ? result : result.graph, null, 2)}\n` : `${result.text}\n`;
      const path = this.writeOutput(text);
      this.context.stderr.write(`wrote ${path} (${Buffer.byteLength(text)} bytes)\n`);
      return 0;
    }
    if (this.json) {
      printJson(this.context.stdout, result);
    } else if (result.format === 'json') {
      printJson(this.context.stdout, result.graph);
    } else {
      this.print(result.text);
    }
    return 0;
  }

  private writeOutput(text: string): string {
    const path = resolve(this.output!);
    try {
      writeFileSync(path, text);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new LoomError('VALIDATION_FAILED', `cannot write ${path}: ${err.code ?? err.message}`, {
        hint: 'give -o a file in a directory that exists and you may write to',
        details: { flag: '-o', path },
      });
    }
    return path;
  }
}
