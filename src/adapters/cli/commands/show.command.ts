import { Command, Option } from 'clipanion';
import type { LoomEvent } from '../../../domain/events.js';
import type { TaskDetail, TaskRef } from '../../../ports/loom-api.js';
import { LoomCommand } from '../base-command.js';
import { heldField, indent, relativeTime, renderFields, renderTable, shortTime, timeWithRelative } from '../output.js';

/** How many of the task's events `show` reads: its history, newest last. */
export const SHOW_HISTORY_LIMIT = 200;

export class ShowCommand extends LoomCommand {
  static override paths = [['show']];

  static override usage = Command.Usage({
    description: 'Show one task with everything about it',
    details: `
      The task's fields, its context and output in full, its dependencies and dependents with their status and title, its children, escalations, and its history (its events, newest last; the latest ${SHOW_HISTORY_LIMIT}).

      \`loom status ID\` is the short form of the same task.
    `,
    examples: [
      ['One task in full', '$0 show loom-1a2b3c4d'],
      ['The same as JSON (the task detail and its history)', '$0 show loom-1a2b3c4d --json'],
    ],
  });

  id = Option.String({ name: 'id' });

  async execute(): Promise<number> {
    const id = this.id;
    const { detail, history } = await this.withApi(async (api, project) => {
      const detail = await api.status({ project_id: project.project_id, task_id: id });
      const history = await api.events({ project_id: project.project_id, task_id: id, limit: SHOW_HISTORY_LIMIT });
      return { detail, history };
    });
    this.emit({ ...detail, history }, () => renderShow(detail, history, new Date()));
    return 0;
  }
}

const pretty = (value: unknown): string => JSON.stringify(value, null, 2);

const refTable = (refs: readonly TaskRef[]): string =>
  renderTable(refs, [
    { header: 'ID', value: (t) => t.id },
    { header: 'STATUS', value: (t) => t.status },
    { header: 'PRI', value: (t) => t.priority },
    { header: 'TITLE', value: (t) => t.title },
  ]);

/** One line of what an event says, short: its payload without the bulky parts. */
function eventNote(e: LoomEvent): string {
  const text = JSON.stringify(e.payload);
  if (text === '{}') return '';
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}

function renderShow(detail: TaskDetail, history: readonly LoomEvent[], now: Date): string {
  const { task } = detail;
  const blocked = task.status === 'blocked' && task.blocked_reason !== null ? ` (${task.blocked_reason.replace('_', ' ')}${task.unmet_deps > 0 ? `, ${task.unmet_deps} unmet` : ''})` : '';
  const sections = [
    `${task.id}  ${task.title}\n${renderFields([
      ['status', `${task.status}${blocked}${task.held_at === null || task.held_at === undefined ? '' : ', held'}`],
      ['held', heldField(task, now)],
      ['priority', task.priority],
      ['weight', `${task.weight} open task${task.weight === 1 ? '' : 's'} downstream`],
      ['parent', task.parent_id ?? undefined],
      ['assignee', task.assignee ?? undefined],
      ['lease', task.status === 'claimed' && task.lease_expires_at !== null ? `expires ${timeWithRelative(task.lease_expires_at, now)}` : undefined],
      ['progress', task.progress ?? undefined],
      ['attempts', `${task.attempts} of ${task.max_attempts}`],
      ['run after', task.run_after === null ? undefined : timeWithRelative(task.run_after, now)],
      ['labels', (task.labels ?? []).length === 0 ? undefined : task.labels.join(', ')],
      ['done when', task.done_when ?? undefined],
      ['failure', task.failure_reason ?? undefined],
      ['origin', `${task.origin.kind}:${task.origin.id}`],
      ['created', `${shortTime(task.created_at)} (${relativeTime(task.created_at, now)})`],
      ['updated', `${shortTime(task.updated_at)} (${relativeTime(task.updated_at, now)})`],
      ['revision', String(task.revision)],
    ])}`,
  ];
  if (Object.keys(task.context).length > 0) sections.push(`context\n${indent(pretty(task.context))}`);
  if (task.output !== null) sections.push(`output\n${indent(pretty(task.output))}`);
  sections.push(
    detail.dependency_tasks.length === 0 ? 'depends on: nothing' : `depends on (${detail.dependency_tasks.length})\n${indent(refTable(detail.dependency_tasks))}`,
  );
  sections.push(
    detail.dependent_tasks.length === 0 ? 'dependents: none' : `dependents (${detail.dependent_tasks.length})\n${indent(refTable(detail.dependent_tasks))}`,
  );
  if (detail.children.length > 0) sections.push(`children (${detail.children.length}): ${detail.children.join(', ')}`);
  if (detail.escalations.length > 0) {
    sections.push(
      `escalations (${detail.escalations.length})\n${indent(
        renderTable(detail.escalations, [
          { header: 'ID', value: (e) => e.id },
          { header: 'STATUS', value: (e) => e.status },
          { header: 'MESSAGE', value: (e) => (e.resolution === null ? e.message : `${e.message} -> ${e.resolution}`) },
        ]),
      )}`,
    );
  }
  if (history.length > 0) {
    sections.push(
      `history (${history.length === SHOW_HISTORY_LIMIT ? `the latest ${SHOW_HISTORY_LIMIT}` : history.length}, newest last)\n${indent(
        renderTable(history, [
          { header: 'ID', value: (e) => String(e.id), align: 'right' },
          { header: 'TIME', value: (e) => shortTime(e.at) },
          { header: 'TYPE', value: (e) => e.type },
          { header: 'AGENT', value: (e) => e.agent_id ?? '-' },
          { header: 'DETAIL', value: eventNote },
        ]),
      )}`,
    );
  }
  return sections.join('\n\n');
}
