import { STATUS_COLORS } from '../../domain/graph-dot.js';
import { LAYERED_FROM, layeredSvg } from '../../domain/graph-layers.js';
import type { LoomEvent } from '../../domain/events.js';
import type { Task } from '../../domain/task.js';
import type { LoomApi } from '../../ports/loom-api.js';
import type { GraphPictures } from '../../ports/graph-pictures.js';

/**
 * What the page shows, built field by field from the LoomApi's answers: a
 * whitelist, so nothing the page has no use for (a lease token above all)
 * can reach it by a field added to a task later.
 */
export interface DashboardState {
  project: { id: string; name: string; removed: boolean };
  /** The newest event in the log when this was read: where the live stream starts. */
  last_event_id: number;
  counts: Record<string, number>;
  total: number;
  /** Every task's status (and held flag), for recolouring the drawn graph. */
  nodes: Record<string, { status: string; held: boolean }>;
  colors: Record<string, { fill: string; stroke: string }>;
  ready: Array<{ id: string; title: string; priority: string; weight: number; labels: string[] }>;
  claims: Array<{ id: string; title: string; agent: string | null; lease_expires_at: string | null; attempts: number; max_attempts: number; progress: string | null }>;
  agents: Array<{ id: string; status: string; last_seen: string; claims: string[] }>;
  escalations: Array<{ id: string; task_id: string; task_title: string | null; message: string; source: string; raised_by: string | null; created_at: string }>;
  dead_letters: Array<{ id: string; title: string; failure_reason: string | null; attempts: number; updated_at: string }>;
  workflow_runs: Array<{ run_id: number; workflow: string; title: string; status: string; epic_id: string; started_at: string; counts: Record<string, number> }>;
  /** The server's clock, so lease countdowns do not depend on the browser's. */
  now: string;
}

const LIST_LIMIT = 200;

export async function readState(api: LoomApi, projectId: string, newest: NewestEvent, now: () => Date): Promise<DashboardState> {
  // The newest event first: anything after it reaches the page through the stream.
  const last_event_id = await newest.find();
  const [overview, graph, ready, claimed, agents, deadLetters, runs] = await Promise.all([
    api.overview({ project_id: projectId }),
    api.graph({ project_id: projectId, format: 'json' }),
    api.ready({ project_id: projectId, limit: LIST_LIMIT }),
    api.listTasks({ project_id: projectId, statuses: ['claimed'], limit: LIST_LIMIT }),
    api.agents({ project_id: projectId }),
    api.deadLetters({ project_id: projectId, limit: LIST_LIMIT }),
    api.workflowRuns({ project_id: projectId, limit: 50 }),
  ]);
  const titles = new Map(graph.graph.nodes.map((n) => [n.id, n.title]));
  const nodes: DashboardState['nodes'] = {};
  for (const n of graph.graph.nodes) nodes[n.id] = { status: n.status, held: n.held === true };
  return {
    project: { id: overview.project.id, name: overview.project.name, removed: overview.project.removed_at != null },
    last_event_id,
    counts: { ...overview.counts },
    total: overview.total,
    nodes,
    colors: STATUS_COLORS,
    ready: ready.map((t) => ({ id: t.id, title: t.title, priority: t.priority, weight: t.weight, labels: [...t.labels] })),
    claims: claimed.map(claimView),
    agents: agents.map((a) => ({ id: a.agent_id, status: a.status, last_seen: a.last_seen, claims: [...a.claims] })),
    escalations: overview.escalations
      .filter((e) => e.status === 'open')
      .map((e) => ({ id: e.id, task_id: e.task_id, task_title: titles.get(e.task_id) ?? null, message: e.message, source: e.source, raised_by: e.raised_by, created_at: e.created_at })),
    dead_letters: deadLetters.map((t) => ({ id: t.id, title: t.title, failure_reason: t.failure_reason, attempts: t.attempts, updated_at: t.updated_at })),
    workflow_runs: runs.map((r) => ({ run_id: r.run_id, workflow: r.workflow, title: r.title, status: r.status, epic_id: r.epic_id, started_at: r.started_at, counts: { ...r.counts } as Record<string, number> })),
    now: now().toISOString(),
  };
}

/** One task as a click on its node shows it: a whitelist of fields (never a lease token, nor the context or output). */
export interface DashboardTask {
  id: string;
  title: string;
  status: string;
  priority: string;
  weight: number;
  labels: string[];
  parent_id: string | null;
  assignee: string | null;
  attempts: number;
  max_attempts: number;
  lease_expires_at: string | null;
  blocked_reason: string | null;
  failure_reason: string | null;
  progress: string | null;
  held: boolean;
  hold_reason: string | null;
  done_when: string | null;
  created_at: string;
  updated_at: string;
  depends_on: Array<{ id: string; title: string; status: string }>;
  dependents: Array<{ id: string; title: string; status: string }>;
  children: number;
  open_escalations: number;
}

export async function readTask(api: LoomApi, projectId: string, taskId: string): Promise<DashboardTask> {
  const d = await api.status({ project_id: projectId, task_id: taskId });
  const t = d.task;
  const ref = (r: { id: string; title: string; status: string }) => ({ id: r.id, title: r.title, status: r.status });
  return {
    id: t.id,
    title: t.title,
    status: t.status,
    priority: t.priority,
    weight: t.weight,
    labels: [...t.labels],
    parent_id: t.parent_id,
    assignee: t.assignee,
    attempts: t.attempts,
    max_attempts: t.max_attempts,
    lease_expires_at: t.lease_expires_at,
    blocked_reason: t.blocked_reason,
    failure_reason: t.failure_reason,
    progress: t.progress,
    held: t.held_at !== null,
    hold_reason: t.hold_reason,
    done_when: t.done_when,
    created_at: t.created_at,
    updated_at: t.updated_at,
    depends_on: d.dependency_tasks.map(ref),
    dependents: d.dependent_tasks.map(ref),
    children: d.children.length,
    open_escalations: d.escalations.filter((e) => e.status === 'open').length,
  };
}

const claimView = (t: Task): DashboardState['claims'][number] => ({
  id: t.id,
  title: t.title,
  agent: t.assignee,
  lease_expires_at: t.lease_expires_at,
  attempts: t.attempts,
  max_attempts: t.max_attempts,
  progress: t.progress,
});

/**
 * The id of the newest event of a project. The log reads oldest first, so
 * this pages forward from the newest id seen before: the first call reads
 * the log once, later ones only what came since.
 */
export class NewestEvent {
  private known = 0;

  constructor(private readonly api: LoomApi, private readonly projectId: string) {}

  /** Tells it of an event seen elsewhere (the live stream). */
  saw(id: number): void {
    if (id > this.known) this.known = id;
  }

  async find(): Promise<number> {
    for (;;) {
      const page = await this.api.events({ project_id: this.projectId, since: this.known, limit: 10_000 });
      if (page.length === 0) return this.known;
      this.saw(page.at(-1)!.id);
    }
  }
}

/** Event payloads as the page gets them: any field naming a token is dropped, at any depth. */
export function scrubEvent(e: LoomEvent): LoomEvent {
  return { ...e, payload: scrub(e.payload) as LoomEvent['payload'] };
}

function scrub(value: unknown, depth = 0): unknown {
  if (depth > 20 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (!/token/i.test(k)) out[k] = scrub(v, depth + 1);
  return out;
}

/**
 * The drawn graph, cached by its DOT text: the page recolours nodes from the
 * state, so a new layout is needed only when the graph itself changes.
 * Pictures of fewer than `layeredFrom` nodes (LAYERED_FROM: 1,000) are laid
 * out by Graphviz through the GraphPictures port, in this process; bigger
 * ones in layers by layeredSvg (milliseconds, a third of the bytes), since
 * Graphviz took 8.6 s and a 6.7 MB SVG for 5,000 tasks (npm run bench:dashboard).
 */
export class GraphSvgCache {
  private last: { key: string; svg: Promise<string> } | undefined;

  constructor(
    private readonly api: LoomApi,
    private readonly pictures: GraphPictures,
    private readonly layeredFrom = LAYERED_FROM,
  ) {}

  async svg(projectId: string, epicId: string | undefined): Promise<string> {
    const r = await this.api.graph({ project_id: projectId, format: 'dot', ...(epicId === undefined ? {} : { epic_id: epicId }) });
    if (r.format !== 'dot') throw new Error(`asked for dot, got ${r.format}`);
    const key = `${epicId ?? ''}\n${r.text}`;
    if (this.last?.key !== key) {
      const svg = r.picture.nodes.length >= this.layeredFrom ? Promise.resolve().then(() => layeredSvg(r.picture)) : this.pictures.svg({ dot: r.text, picture: r.picture });
      svg.catch(() => undefined);
      this.last = { key, svg };
      svg.catch(() => {
        if (this.last?.svg === svg) this.last = undefined;
      });
    }
    return this.last.svg;
  }
}
