import { Command } from 'clipanion';
import { LoomCommand } from '../base-command.js';
import { renderTable } from '../output.js';

export class SkillsStatsCommand extends LoomCommand {
  static override paths = [['skills', 'stats']];

  static override usage = Command.Usage({
    category: 'Skills',
    description: 'How often each skill version was used for a task, and how those tasks ended',
    details: 'A use is one render for a task. Its outcome is the first ending of the task after the render: done, dead-lettered, escalated or cancelled; open otherwise.',
    examples: [['Which skills work', '$0 skills stats']],
  });

  async execute(): Promise<number> {
    const stats = await this.withApi((api, project) => api.skillStats({ project_id: project.project_id }));
    this.emit(stats, () =>
      stats.length === 0
        ? 'no skill used for a task yet: loom skills render NAME --task ID'
        : renderTable(stats, [
            { header: 'SKILL', value: (s) => s.skill },
            { header: 'VERSION', value: (s) => s.version },
            { header: 'USES', value: (s) => String(s.uses), align: 'right' },
            { header: 'DONE', value: (s) => String(s.done), align: 'right' },
            { header: 'DEAD', value: (s) => String(s.dead_lettered), align: 'right' },
            { header: 'ESCALATED', value: (s) => String(s.escalated), align: 'right' },
            { header: 'CANCELLED', value: (s) => String(s.cancelled), align: 'right' },
            { header: 'OPEN', value: (s) => String(s.open), align: 'right' },
          ]),
    );
    return 0;
  }
}
