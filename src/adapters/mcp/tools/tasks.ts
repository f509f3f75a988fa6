import type { GraphFormat } from '../../../domain/graph.js';
import type { JsonObject, Origin, Priority } from '../../../domain/task.js';
import { defineTool, jsonObject, labels, obj, priority, READ_ONLY, SAFE_WRITE, taskId, text } from './tool.js';

/** Shaping the graph: create, change, inspect and escalate tasks. */

const dependsOn = (description: string) => ({ type: 'array', items: taskId(), maxItems: 1000, uniqueItems: true, description });

export const loomCreate = defineTool<{
  title: string;
  context?: JsonObject;
  depends_on?: string[];
  priority?: Priority;
  parent_id?: string;
  done_when?: string;
  labels?: string[];
  epic?: boolean;
  origin?: Origin;
}>({
  name: 'loom_create',
  group: 'core',
  description:
    'Create a task (or an epic, a container of tasks, with epic:true). It stays blocked until every depends_on task is done.',
  inputSchema: obj(
    {
      title: text(500, 'Short imperative title'),
      context: jsonObject('What a worker needs'),
      depends_on: dependsOn('Done first'),
      priority: priority('p0 (urgent) to p2; default p1'),
      parent_id: taskId('The epic this task belongs to'),
      done_when: text(5000, 'Acceptance criteria'),
      labels: labels('Tags like bug, area:cli'),
      epic: { type: 'boolean' },
      origin: { ...obj({ kind: text(100), id: text(200) }, ['kind', 'id']), description: 'Who asked for it; default: you' },
    },
    ['title'],
  ),
  annotations: SAFE_WRITE,
  async run(args, ctx) {
    const origin = args.origin ?? { kind: 'agent', id: ctx.session.agentId };
    return { task: await ctx.api.createTask({ ...args, project_id: ctx.project_id, origin }) };
  },
});

export const loomUpdate = defineTool<{
  task_id: string;
  title?: string;
  context?: JsonObject;
  priority?: Priority;
  depends_on?: string[];
  add_depends_on?: string[];
  remove_depends_on?: string[];
  done_when?: string | null;
  labels?: string[];
  add_labels?: string[];
  remove_labels?: string[];
}>({
  name: 'loom_update',
  group: 'core',
  description:
    'Change an open task. depends_on replaces the list; add_/remove_depends_on edit it (safe beside other editors); ' +
    'labels likewise. Cycles are refused; done_when null clears it.',
  inputSchema: obj(
    {
      task_id: taskId(),
      title: text(500),
      context: jsonObject('Replaces the context'),
      priority: priority(),
      depends_on: dependsOn('Replaces the list'),
      add_depends_on: { ...dependsOn('Add these'), minItems: 1 },
      remove_depends_on: { ...dependsOn('Remove these'), minItems: 1 },
      done_when: { anyOf: [text(5000), { type: 'null' }] },
      labels: labels(),
      add_labels: labels(),
      remove_labels: labels(),
    },
    ['task_id'],
  ),
  annotations: { readOnlyHint: false },
  async run(args, ctx) {
    return { task: await ctx.api.updateTask({ ...args, project_id: ctx.project_id }) };
  },
});

export const loomStatus = defineTool<{ task_id?: string }>({
  name: 'loom_status',
  group: 'core',
  description:
    'One task in full (dependents, children, escalations, events); no task_id: the project overview ' +
    '(counts, blocked tasks, open escalations).',
  inputSchema: obj({ task_id: taskId() }),
  annotations: READ_ONLY,
  async run(args, ctx) {
    if (args.task_id === undefined) return { ...(await ctx.api.overview({ project_id: ctx.project_id })) };
    return { ...(await ctx.api.status({ project_id: ctx.project_id, task_id: args.task_id })) };
  },
});

export const loomGraph = defineTool<{ format?: GraphFormat; epic_id?: string }>({
  name: 'loom_graph',
  group: 'core',
  description:
    'The task graph. format: summary (default, short text), waves (levels that can run in parallel), ' +
    'mermaid (diagram source), dot (Graphviz source), json (nodes and edges). epic_id: only that epic and what is below it.',
  inputSchema: obj({ format: { enum: ['summary', 'waves', 'mermaid', 'dot', 'json'] }, epic_id: taskId() }),
  annotations: READ_ONLY,
  async run(args, ctx) {
    const r = await ctx.api.graph({ project_id: ctx.project_id, format: args.format ?? 'summary', ...(args.epic_id === undefined ? {} : { epic_id: args.epic_id }) });
    // The text formats already say what the graph holds: sending the graph too would double the context used.
    return r.format === 'json' ? { format: r.format, graph: r.graph } : { format: r.format, text: r.text };
  },
});

export const loomEscalate = defineTool<{ task_id: string; message: string }>({
  name: 'loom_escalate',
  group: 'core',
  description: 'Ask a human for help with a task: it is blocked until a human resolves it. Say exactly what you need.',
  inputSchema: obj({ task_id: taskId(), message: text(5000) }, ['task_id', 'message']),
  annotations: SAFE_WRITE,
  async run(args, ctx) {
    return { ...(await ctx.api.escalate({ ...args, project_id: ctx.project_id, agent_id: ctx.session.agentId })) };
  },
});
