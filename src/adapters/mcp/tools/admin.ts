import { LoomError } from '../../../domain/errors.js';
import { RESOLVE_ACTIONS, type ResolveAction } from '../../../domain/policy.js';
import type { JsonObject } from '../../../domain/task.js';
import { SUMMARY_NOTE, taskSummary } from './summary.js';
import { defineTool, int, jsonObject, obj, READ_ONLY, SAFE_WRITE, taskId, text } from './tool.js';

/**
 * The admin group (config `mcp.tools: [core, admin]`): dead letters,
 * escalations, agents and the reconcile tick, for a lead or supervising agent.
 */

const invalid = (message: string): LoomError =>
  new LoomError('VALIDATION_FAILED', message, { hint: 'fix the arguments and call again; nothing was written' });

export const loomDlq = defineTool<{ limit?: number }>({
  name: 'loom_dlq',
  group: 'admin',
  description: `Dead letters: tasks that failed for good (attempts used up, or not retryable), newest first, with failure_reason. ${SUMMARY_NOTE}`,
  inputSchema: obj({ limit: int(1, 1000, 'Default 100') }),
  annotations: READ_ONLY,
  async run(args, ctx) {
    return { tasks: (await ctx.api.deadLetters({ ...args, project_id: ctx.project_id })).map(taskSummary) };
  },
});

export const loomRedrive = defineTool<{ task_id?: string; all?: boolean }>({
  name: 'loom_redrive',
  group: 'admin',
  description: 'Put a dead letter (task_id) or every one (all:true) back in the queue, attempts reset; closes their escalations.',
  inputSchema: obj({ task_id: taskId(), all: { type: 'boolean' } }),
  annotations: SAFE_WRITE,
  async run(args, ctx) {
    const all = args.all === true;
    if (all === (args.task_id !== undefined)) throw invalid('invalid loom_redrive arguments: give either task_id or all: true, not both');
    return ctx.api.redrive({ project_id: ctx.project_id, ...(all ? { all } : { task_id: args.task_id! }), agent_id: ctx.session.agentId });
  },
});

export const loomEscalations = defineTool<{ status?: 'open' | 'resolved' | 'all' }>({
  name: 'loom_escalations',
  group: 'admin',
  description: 'Escalations (tasks waiting on a human), raised by agents or by policy; status: open (default), resolved or all.',
  inputSchema: obj({ status: { enum: ['open', 'resolved', 'all'] } }),
  annotations: READ_ONLY,
  async run(args, ctx) {
    return { escalations: await ctx.api.escalations({ ...args, project_id: ctx.project_id }) };
  },
});

export const loomResolve = defineTool<{ escalation_id: string; action: ResolveAction; output?: JsonObject; note?: string }>({
  name: 'loom_resolve',
  group: 'admin',
  description:
    'Resolve an open escalation. action: retry (requeue, attempts reset), unblock (requeue as is), done (output: the result), ' +
    'cancel. Returns the task as it is now.',
  inputSchema: obj(
    {
      escalation_id: { type: 'string', pattern: '^esc-[0-9a-f]{12}$', description: 'From loom_escalations' },
      action: { enum: [...RESOLVE_ACTIONS] },
      output: jsonObject('Only with action done'),
      note: text(5000, 'Why; kept with the resolution'),
    },
    ['escalation_id', 'action'],
  ),
  annotations: { readOnlyHint: false },
  async run(args, ctx) {
    if (args.output !== undefined && args.action !== 'done') {
      throw invalid(`invalid loom_resolve arguments: output goes only with action done, not ${args.action}`);
    }
    return { ...(await ctx.api.resolveEscalation({ ...args, project_id: ctx.project_id, agent_id: ctx.session.agentId })) };
  },
});

export const loomAgents = defineTool<Record<string, never>>({
  name: 'loom_agents',
  group: 'admin',
  description: 'Agents seen in the project: status (active, idle, gone), last_seen, and the task ids each has claimed.',
  inputSchema: obj({}),
  annotations: READ_ONLY,
  async run(_args, ctx) {
    return { agents: await ctx.api.agents({ project_id: ctx.project_id }) };
  },
});

export const loomTick = defineTool<Record<string, never>>({
  name: 'loom_tick',
  group: 'admin',
  description:
    'Run one reconcile tick now (the daemon runs it every few seconds): expired leases requeued or dead-lettered, stuck work ' +
    'escalated, finished epics completed. Returns what it did.',
  inputSchema: obj({}),
  annotations: { readOnlyHint: false, idempotentHint: true },
  async run(_args, ctx) {
    return { ...(await ctx.api.reconcile({ project_id: ctx.project_id })) };
  },
});

export const loomFsck = defineTool<{ repair?: boolean }>({
  name: 'loom_fsck',
  group: 'admin',
  description:
    "Check the stored task graph against Loom's invariants (cycles, leases, done before dependencies, counters, weights, epics, " +
    'status vs event log). Returns ok, violations and due items, each with task_ids. repair:true first recomputes unmet_deps, ' +
    'weights and the statuses they decide.',
  inputSchema: obj({ repair: { type: 'boolean', description: 'Recompute counters, weights and the statuses they decide first (default false)' } }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  async run(args, ctx) {
    return { ...(await ctx.api.fsck({ project_id: ctx.project_id, ...(args.repair === true ? { repair: true } : {}) })) };
  },
});

export const loomHold = defineTool<{ task_id: string; reason?: string }>({
  name: 'loom_hold',
  group: 'admin',
  description:
    'Hold a task, or an epic with all below it: never ready or claimed until loom_resume. A running claim finishes but is not retried.',
  inputSchema: obj({ task_id: taskId(), reason: text(2000, 'Why, for the record') }, ['task_id']),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  async run(args, ctx) {
    return { ...(await ctx.api.hold({ project_id: ctx.project_id, ...args, agent_id: ctx.session.agentId })) };
  },
});

export const loomResume = defineTool<{ task_id: string }>({
  name: 'loom_resume',
  group: 'admin',
  description: 'Resume held work (an epic: all held below it); each task gets the status it has now. Returns resumed ids with status.',
  inputSchema: obj({ task_id: taskId() }, ['task_id']),
  annotations: { readOnlyHint: false, destructiveHint: false },
  async run(args, ctx) {
    return { ...(await ctx.api.resume({ project_id: ctx.project_id, task_id: args.task_id, agent_id: ctx.session.agentId })) };
  },
});
