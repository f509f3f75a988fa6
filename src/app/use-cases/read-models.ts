import { budgetView, type BudgetState } from '../../domain/budget.js';
import { LoomError, taskNotFound } from '../../domain/errors.js';
import { toDot } from '../../domain/graph-dot.js';
import { buildPicture, isEpicNode, subtreeView } from '../../domain/graph-picture.js';
import { toMermaid, toSummaryText, toWavesText } from '../../domain/graph-format.js';
import { buildGraphView, type GraphFormat } from '../../domain/graph.js';
import type { Priority, Project, Task } from '../../domain/task.js';
import type { GraphInput, GraphResult, ListTasksInput, ProjectOverview, TaskDetail, TaskRef } from '../../ports/loom-api.js';
import type { UseCaseDeps } from './deps.js';

/**
 * A task as anyone may see it: the lease token is the holder's alone (it is
 * what lets a report through), so reads show who holds a lease and until
 * when, never the token.
 */
export const publicView = (task: Task): Task => (task.lease_token === null ? task : { ...task, lease_token: null });

export async function readyTasks(d: UseCaseDeps, input: { project_id: string; limit?: number; priority?: Priority; labels?: string[] }): Promise<Task[]> {
  const now = d.clock.now();
  const limit = input.limit ?? 20;
  // The cache keeps the head of the ready list: a label filter could need tasks past it, so it reads the store.
  if (input.labels !== undefined && input.labels.length > 0) return d.store.ready(input.project_id, now, limit, input.priority, input.labels);
  if (d.cache === undefined) return d.store.ready(input.project_id, now, limit, input.priority);
  const cached = await d.cache.ready(input.project_id, now, limit, input.priority);
  if (cached !== undefined) return cached;
  d.cacheMissed?.(input.project_id);
  return d.store.ready(input.project_id, now, limit, input.priority);
}

export const DEFAULT_LIST_LIMIT = 50;

export async function listTasks(d: UseCaseDeps, input: ListTasksInput): Promise<Task[]> {
  const tasks = await d.store.listTasks(input.project_id, {
    limit: input.limit ?? DEFAULT_LIST_LIMIT,
    ...(input.statuses === undefined ? {} : { statuses: input.statuses }),
    ...(input.search === undefined ? {} : { search: input.search }),
    ...(input.parent_id === undefined ? {} : { parent_id: input.parent_id }),
    ...(input.labels === undefined ? {} : { labels: input.labels }),
    ...(input.held === undefined ? {} : { held: input.held }),
  });
  return tasks.map(publicView);
}

const toRef = (t: Task): TaskRef => ({ id: t.id, title: t.title, status: t.status, priority: t.priority, unmet_deps: t.unmet_deps, blocked_reason: t.blocked_reason });

export async function taskDetail(d: UseCaseDeps, input: { project_id: string; task_id: string }): Promise<TaskDetail> {
  const p = input.project_id;
  const task = await d.store.getTask(p, input.task_id);
  if (task === null) throw taskNotFound(input.task_id);
  const [dependents, children, escalations, recent_events, usage, budgets] = await Promise.all([
    d.store.dependentIds(p, task.id),
    d.store.childIds(p, task.id),
    d.store.escalations(p, { task_id: task.id }),
    d.store.events(p, { task_id: task.id, limit: 20 }),
    d.store.usageTotals(p, [task.id]),
    d.store.budgets(p),
  ]);
  const ids = [...new Set([...task.depends_on, ...dependents])];
  const related = ids.length === 0 ? [] : await d.store.listTasks(p, { ids, limit: ids.length });
  const byId = new Map(related.map((t) => [t.id, toRef(t)]));
  const refs = (list: readonly string[]): TaskRef[] => list.flatMap((id) => byId.get(id) ?? []);
  return {
    task: publicView(task),
    dependents,
    dependency_tasks: refs(task.depends_on),
    dependent_tasks: refs(dependents),
    children,
    escalations,
    recent_events,
    ...(usage.has(task.id) ? { usage: usage.get(task.id)! } : {}),
    ...budgetOf(budgets, task.id),
  };
}

export async function projectOverview(d: UseCaseDeps, project: Project): Promise<ProjectOverview> {
  const now = d.clock.now();
  const [counts, ready, blocked, held, held_counts, escalations] = await Promise.all([
    d.store.countByStatus(project.id),
    d.store.readyCount(project.id, now),
    d.store.blockedTasks(project.id, 50),
    d.store.listTasks(project.id, { held: true, limit: 50 }),
    d.store.heldCounts(project.id),
    d.store.escalations(project.id, { status: 'open', limit: 50 }),
  ]);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return {
    project,
    counts,
    total,
    ready,
    blocked: blocked.map((t) => ({ id: t.id, title: t.title, blocked_reason: t.blocked_reason, unmet_deps: t.unmet_deps })),
    held: held.map((t) => ({ id: t.id, title: t.title, status: t.status, held_at: t.held_at, hold_reason: t.hold_reason })),
    held_counts,
    escalations,
  };
}

export async function projectGraph(d: UseCaseDeps, input: GraphInput): Promise<GraphResult> {
  let view = buildGraphView(await d.store.graphNodes(input.project_id));
  if (input.epic_id !== undefined) {
    // Waves are computed on the whole graph first: work outside the epic still decides when work inside can start.
    if (!view.nodes.some((n) => n.id === input.epic_id)) throw taskNotFound(input.epic_id);
    if (!isEpicNode(view, input.epic_id)) {
      throw new LoomError('VALIDATION_FAILED', `${input.epic_id} is not an epic: it has no tasks below it`, {
        hint: 'pass the id of an epic (loom list --status epic), or leave --epic out to draw the whole project',
        details: { task_id: input.epic_id },
      });
    }
    view = subtreeView(view, input.epic_id);
  }
  const format: GraphFormat = input.format ?? 'json';
  switch (format) {
    case 'dot': {
      const picture = buildPicture(view, { collapse: input.expand !== true, epic_id: input.epic_id ?? null });
      return { format, graph: view, picture, text: toDot(picture) };
    }
    case 'json':
      return { format, graph: view };
    case 'mermaid':
      return { format, graph: view, text: toMermaid(view) };
    case 'waves':
      return { format, graph: view, text: toWavesText(view) };
    case 'summary':
      return { format, graph: view, text: toSummaryText(view) };
  }
}

const budgetOf = (budgets: readonly BudgetState[], taskId: string): { budget?: ReturnType<typeof budgetView> } => {
  const b = budgets.find((x) => x.scope === taskId);
  return b === undefined ? {} : { budget: budgetView(b) };
};
