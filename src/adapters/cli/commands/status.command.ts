import { Command, Option } from 'clipanion';
import type { ProjectOverview, TaskDetail } from '../../../ports/loom-api.js';
import { TASK_STATUSES } from '../../../domain/task.js';
import { LoomCommand } from '../base-command.js';
import { age, heldField, indent, listOrNone, relativeTime, renderFields, renderTable, shortTime, timeWithRelative, usageSummary } from '../output.js';

export class StatusCommand extends LoomCommand {
  static override paths = [['status']];

  static override usage = Command.Usage({
    description: 'Show a task in detail, or the whole project at a glance',
    details: `
      With an id: every field of the task, its dependencies, dependents and children, the lease, escalations and recent events.

      Without: task counts by status, how many are ready, what is blocked and why, what is held (\`loom hold\`), and open escalations.
    `,
    examples: [
      ['The project at a glance', '$0 status'],
      ['One task in detail', '$0 status loom-1a2b3c4d'],
    ],
  });

  id = Option.String({ name: 'id', required: false });

  async execute(): Promise<number> {
    const id = this.id;
    if (id !== undefined) {
      const detail = await this.withApi((api, project) => api.status({ project_id: project.project_id, task_id: id }));
      this.emit(detail, () => renderDetail(detail, new Date()));
    } else {
      const overview = await this.withApi((api, project) => api.overview({ project_id: project.project_id }));
      this.emit(overview, () => renderOverview(overview, new Date()));
    }
    return 0;
  }
}

const compactJson = (value: unknown): string => JSON.stringify(value);


function renderDetail(detail: TaskDetail, now: Date): string {
  const { task } = detail;
  const blocked =
    task.status === 'blocked' && task.blocked_reason !== null
      ? ` (${task.blocked_reason.replace('_', ' ')}${task.unmet_deps > 0 ? `, ${task.unmet_deps} unmet` : ''})`
      : '';
  const lease =
    task.status === 'claimed' && task.lease_expires_at !== null
      ? `held by ${task.assignee ?? 'unknown'}, expires ${timeWithRelative(task.lease_expires_at, now)}`
      : undefined;
  const sections = [
    `${task.id}  ${task.title}\n${renderFields([
      ['status', `${task.status}${blocked}${task.held_at === null || task.held_at === undefined ? '' : ', held'}`],
      ['held', heldField(task, now)],
      ['priority', task.priority],
      ['weight', `${task.weight} open task${task.weight === 1 ? '' : 's'} downstream`],
      ['parent', task.parent_id ?? undefined],
      ['depends on', listOrNone(task.depends_on)],
      ['dependents', listOrNone(detail.dependents)],
      ['children', detail.children.length === 0 ? undefined : detail.children.join(', ')],
      ['assignee', task.assignee ?? undefined],
      ['lease', lease],
      ['attempts', `${task.attempts} of ${task.max_attempts}`],
      ['run after', task.run_after === null ? undefined : timeWithRelative(task.run_after, now)],
      ['labels', (task.labels ?? []).length === 0 ? undefined : task.labels.join(', ')],
      ['done when', task.done_when ?? undefined],
      ['failure', task.failure_reason ?? undefined],
      ['origin', `${task.origin.kind}:${task.origin.id}`],
      ['context', Object.keys(task.context).length === 0 ? undefined : compactJson(task.context)],
      ['output', task.output === null ? undefined : compactJson(task.output)],
      ['usage', detail.usage === undefined ? undefined : usageSummary(detail.usage, task.status === 'epic' || detail.children.length > 0 ? ', everything below it' : '')],
      ['budget', detail.budget === undefined ? undefined : `$${detail.budget.budget_usd.toFixed(6)} (${detail.budget.percent.toFixed(1)}% spent${detail.budget.state === 'exceeded' ? ': EXCEEDED, no new claims under it' : detail.budget.state === 'warned' ? ': past 80%' : ''})`],
      ['created', `${shortTime(task.created_at)} (${relativeTime(task.created_at, now)})`],
      ['updated', `${shortTime(task.updated_at)} (${relativeTime(task.updated_at, now)})`],
      ['revision', String(task.revision)],
    ])}`,
  ];
  if (detail.escalations.length > 0) {
    sections.push(
      `escalations (${detail.escalations.length})\n${indent(
        renderTable(detail.escalations, [
          { header: 'ID', value: (e) => e.id },
          { header: 'STATUS', value: (e) => e.status },
          { header: 'AGE', value: (e) => age(e.created_at, now), align: 'right' },
          { header: 'BY', value: (e) => e.raised_by ?? e.source },
          { header: 'MESSAGE', value: (e) => (e.resolution === null ? e.message : `${e.message} -> ${e.resolution}`) },
        ]),
      )}`,
    );
  }
  if (detail.recent_events.length > 0) {
    sections.push(
      `recent events\n${indent(
        renderTable(detail.recent_events, [
          { header: 'ID', value: (e) => String(e.id), align: 'right' },
          { header: 'TIME', value: (e) => shortTime(e.at) },
          { header: 'TYPE', value: (e) => e.type },
          { header: 'AGENT', value: (e) => e.agent_id ?? '-' },
        ]),
      )}`,
    );
  }
  return sections.join('\n\n');
}

function renderOverview(overview: ProjectOverview, now: Date): string {
  const counts = TASK_STATUSES.map((status) => ({ status, count: overview.counts[status] ?? 0 }));
  const sections = [
    `project ${overview.project.name} (${overview.project.id})`,
    renderTable(
      [...counts, { status: 'total', count: overview.total }],
      [
        { header: 'STATUS', value: (r) => r.status },
        { header: 'TASKS', value: (r) => String(r.count), align: 'right' },
      ],
    ),
    `ready to claim: ${overview.ready}`,
  ];
  if (overview.blocked.length > 0) {
    sections.push(
      `blocked (${overview.blocked.length})\n${indent(
        renderTable(overview.blocked, [
          { header: 'ID', value: (t) => t.id },
          { header: 'REASON', value: (t) => (t.blocked_reason ?? '-').replace('_', ' ') },
          { header: 'UNMET', value: (t) => String(t.unmet_deps), align: 'right' },
          { header: 'TITLE', value: (t) => t.title },
        ]),
      )}`,
    );
  }
  const heldTotal = Object.values(overview.held_counts ?? {}).reduce((n, c) => n + (c ?? 0), 0);
  if (overview.held.length > 0) {
    sections.push(
      `held: never claimed until resumed (\`loom resume\`; a budget's hold: \`loom budget set\`) (${heldTotal})\n${indent(
        renderTable(overview.held, [
          { header: 'ID', value: (t) => t.id },
          { header: 'STATUS', value: (t) => t.status },
          { header: 'SINCE', value: (t) => (t.held_at === null ? '-' : age(t.held_at, now)), align: 'right' },
          { header: 'TITLE', value: (t) => t.title },
          { header: 'REASON', value: (t) => t.hold_reason ?? '' },
        ]),
      )}`,
    );
  }
  const open = overview.escalations.filter((e) => e.status === 'open');
  if (open.length > 0) {
    sections.push(
      `open escalations (${open.length})\n${indent(
        renderTable(open, [
          { header: 'ID', value: (e) => e.id },
          { header: 'TASK', value: (e) => e.task_id },
          { header: 'AGE', value: (e) => age(e.created_at, now), align: 'right' },
          { header: 'MESSAGE', value: (e) => e.message },
        ]),
      )}`,
    );
  }
  if (overview.total === 0) sections.push('no tasks yet: loom create "First task"');
  return sections.join('\n\n');
}
