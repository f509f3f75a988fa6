import type { GraphFormat } from '../../../domain/graph.js';
import { LoomError } from '../../../domain/errors.js';
import type { JsonObject, Origin, Priority } from '../../../domain/task.js';
import type { BulkTaskInput, CreateTaskInput } from '../../../ports/loom-api.js';
import { defineTool, jsonObject, labels, obj, priority, READ_ONLY, SAFE_WRITE, taskId, text } from './tool.js';

/** Shaping the graph: create, change, inspect and escalate tasks. */

// Task ids, bounds and duplicates are checked by the API's own schema: the list stays short here (tools/list is read into every session).
const dependsOn = (description: string) => ({ type: 'array', items: { type: 'string' }, description });

export const loomCreate = defineTool<
  Omit<CreateTaskInput, 'project_id' | 'origin' | 'title' | 'max_attempts'> & { title?: string; tasks?: BulkTaskInput[]; origin?: Origin }
>({
  name: 'loom_create',
  group: 'core',
  description:
    'Create a task (or an epic, a container of tasks, with epic:true). It stays blocked until every depends_on task is done. ' +
    'Many at once: tasks:[...] instead of title, all or nothing.',
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
      origin: { type: 'object', description: '{kind, id}: who asked for it; default: you' },
      tasks: {
        type: 'array',
        items: { type: 'object' },
        description: 'Items: the fields above plus key, which their depends_on and parent_id may name',
      },
    },
  ),
  annotations: SAFE_WRITE,
  async run(args, ctx) {
    const origin = args.origin ?? { kind: 'agent', id: ctx.session.agentId };
    const { tasks, title, ...rest } = args;
    if ((tasks === undefined) === (title === undefined)) {
      throw new LoomError('VALIDATION_FAILED', tasks === undefined ? 'input: missing required field "title" (or tasks:[...] for many)' : 'input: give title or tasks:[...], not both', {
        hint: 'one task: title (and its fields); many: tasks, each item with its own title and fields. Nothing was written',
      });
    }
    if (tasks !== undefined) {
      if (Object.keys(rest).some((k) => k !== 'origin')) {
        throw new LoomError('VALIDATION_FAILED', `with tasks, give ${Object.keys(rest).filter((k) => k !== 'origin').join(', ')} in each item`, {
          hint: 'every field but origin belongs to the items of tasks. Nothing was written',
        });
      }
      return { ...(await ctx.api.createTasks({ project_id: ctx.project_id, origin, tasks })) };
    }
    return { task: await ctx.api.createTask({ ...rest, title: title!, project_id: ctx.project_id, origin }) };
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
    'The task graph. format: summary (default), waves (levels that can run in parallel), mermaid, dot (Graphviz), ' +
    'json (nodes and edges). epic_id: only that epic and what is below it.',
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
