import { Command } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { renderTable } from '../output.js';

export class ProjectListCommand extends LoomCommand {
  static override paths = [['project', 'list']];

  static override usage = Command.Usage({
    category: 'Project',
    description: "List every project in this directory's database",
    details: `
      The projects of the database the directory's config points at (the embedded store, or LOOM_DATABASE_URL), with their task counts; the directory's own project is marked, and a removed one (\`loom project remove\`) says so after its name. Works without a project in the config: after a config was lost, \`loom init --project ID\` reattaches the directory.
    `,
    examples: [
      ['Which projects are there?', '$0 project list'],
      ['Reattach this directory to one', '$0 init --project prj-1a2b3c4d5e6f'],
    ],
  });

  async execute(): Promise<number> {
    const r = await this.context.connector.projects(this.connectOptions());
    this.emit(r, () => {
      if (r.projects.length === 0) return `no projects in this ${r.mode} database yet: loom init creates one`;
      const open = (c: Partial<Record<string, number>>): number => (c.pending ?? 0) + (c.blocked ?? 0) + (c.claimed ?? 0);
      const table = renderTable(r.projects, [
        { header: '  PROJECT', value: (p) => `${p.id === r.current ? '*' : ' '} ${p.id}` },
        { header: 'NAME', value: (p) => (p.removed_at === undefined || p.removed_at === null ? p.name : `${p.name} (removed ${p.removed_at.slice(0, 10)})`) },
        { header: 'TASKS', value: (p) => String(Object.values(p.counts).reduce((a: number, b) => a + (b ?? 0), 0)), align: 'right' },
        { header: 'DONE', value: (p) => String(p.counts.done ?? 0), align: 'right' },
        { header: 'OPEN', value: (p) => String(open(p.counts)), align: 'right' },
        { header: 'CREATED', value: (p) => p.created_at.slice(0, 19).replace('T', ' ') },
      ]);
      return `${table}\n${r.current === null ? 'this directory names no project: loom init --project ID attaches it' : '* this directory\'s project'}`;
    });
    return 0;
  }
}
