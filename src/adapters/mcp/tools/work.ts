import { LoomError } from '../../../domain/errors.js';
import { MAX_BATCH } from '../../../ports/loom-api.js';
import type { JsonObject, Priority } from '../../../domain/task.js';
import type { UsageReport } from '../../../domain/usage.js';
import { toToolError } from '../present.js';
import { SUMMARY_NOTE, taskSummary } from './summary.js';
import { defineTool, int, jsonObject, labels, leaseSeconds, leaseToken, obj, priority, READ_ONLY, SAFE_WRITE, taskId, text, usage, type ToolContext } from './tool.js';

/** The work loop: find, claim, keep, report and recover work. */

/** Runs a report with the session's lease and keeps the session's memory of it true. */
async function withLease<T>(ctx: ToolContext, task_id: string, passed: string | undefined, report: (token: string) => Promise<T>, done: boolean): Promise<T> {
  if (passed === undefined && !ctx.session.holds(task_id)) {
    // No lease to present: say first whether the task exists at all (TASK_NOT_FOUND), then that it is not ours.
    await ctx.api.status({ project_id: ctx.project_id, task_id });
  }
  const token = ctx.session.leaseToken(task_id, passed);
  try {
    const result = await report(token);
    if (done) ctx.session.forget(task_id);
    else ctx.session.remember(task_id, token);
    return result;
  } catch (error) {
    if (LoomError.is(error) && error.code === 'LEASE_LOST') ctx.session.forget(task_id, token);
    throw error;
  }
}

export const loomReady = defineTool<{ limit?: number; priority?: Priority; labels?: string[] }>({
  name: 'loom_ready',
  group: 'core',
  description:
    'List tasks ready to claim now (dependencies done), best first: priority, then how much work each unblocks, then age. ' + SUMMARY_NOTE,
  inputSchema: obj({ limit: int(1, 1000, 'Default 20'), priority: priority('Only this priority'), labels: labels('Having all of them') }),
  annotations: READ_ONLY,
  async run(args, ctx) {
    return { tasks: (await ctx.api.ready({ ...args, project_id: ctx.project_id })).map(taskSummary) };
  },
});

export const loomClaim = defineTool<{ task_id?: string; agent_id?: string; lease_seconds?: number; count?: number }>({
  name: 'loom_claim',
  group: 'core',
  description:
    'Claim task_id, or else the best ready task: the task and your lease (kept by this session: no lease_token needed ' +
    'later). {claimed:false}: nothing to claim now. On long work, loom_heartbeat before lease.expires_at.',
  inputSchema: obj({
    task_id: taskId('Omit to take the best ready task'),
    agent_id: text(200, "Default: this session's; kept for later calls"),
    lease_seconds: leaseSeconds,
    count: int(1, MAX_BATCH, 'Up to N ready tasks at once: {claims:[...]}'),
  }),
  annotations: SAFE_WRITE,
  async run(args, ctx) {
    const agent_id = args.agent_id ?? ctx.session.agentId;
    if (args.count !== undefined) {
      if (args.task_id !== undefined) throw new LoomError('VALIDATION_FAILED', 'give task_id or count, not both', { hint: 'count claims the best ready tasks; task_id one given task' });
      const { count, lease_seconds } = args;
      const batch = await ctx.api.claimBatch({ project_id: ctx.project_id, agent_id, count, ...(lease_seconds === undefined ? {} : { lease_seconds }) });
      if (args.agent_id !== undefined) ctx.session.useAgent(args.agent_id);
      for (const c of batch.claims) ctx.session.remember(c.task.id, c.lease.token);
      return { claimed: batch.claims.length > 0, claims: batch.claims, agent_id };
    }
    const result = await ctx.api.claim({ ...args, project_id: ctx.project_id, agent_id });
    // Adopted only once the API took it: a refused id must not become the session's.
    if (args.agent_id !== undefined) ctx.session.useAgent(args.agent_id);
    if (result.claimed) {
      ctx.session.remember(result.task.id, result.lease.token);
      return { ...result, agent_id };
    }
    const hint =
      result.reason === 'none_ready'
        ? 'no task is ready now: check loom_status for blocked work, or wait for a task_event notification'
        : `task is ${result.task?.status ?? 'not ready'}: see loom_status for what it waits on`;
    return { ...result, agent_id, hint };
  },
});

export const loomHeartbeat = defineTool<{ task_id: string; lease_token?: string; lease_seconds?: number; progress?: string; usage?: UsageReport }>({
  name: 'loom_heartbeat',
  group: 'core',
  description: 'Extend your lease on a task you claimed; call before lease.expires_at on long work. LEASE_LOST: stop working on it.',
  inputSchema: obj(
    {
      task_id: taskId(),
      lease_token: leaseToken,
      lease_seconds: leaseSeconds,
      progress: text(2000, 'Done since the last heartbeat (none for long: reported stuck)'),
      usage: usage(false),
    },
    ['task_id'],
  ),
  annotations: { ...SAFE_WRITE, idempotentHint: true },
  async run(args, ctx) {
    return withLease(ctx, args.task_id, args.lease_token, (lease_token) =>
      ctx.api.heartbeat({ ...args, project_id: ctx.project_id, agent_id: ctx.session.agentId, lease_token }), false);
  },
});

export const loomDone = defineTool<{ task_id: string; output?: JsonObject; lease_token?: string; usage?: UsageReport }>({
  name: 'loom_done',
  group: 'core',
  description: 'Report a task you claimed as complete. Returns the task ids this unblocked.',
  inputSchema: obj(
    { task_id: taskId(), output: jsonObject('Result for dependents and reviewers: files changed, notes, links'), lease_token: leaseToken, usage: usage(true) },
    ['task_id'],
  ),
  annotations: { ...SAFE_WRITE, idempotentHint: true },
  async run(args, ctx) {
    return { ...(await withLease(ctx, args.task_id, args.lease_token, (lease_token) =>
      ctx.api.done({ ...args, project_id: ctx.project_id, agent_id: ctx.session.agentId, lease_token }), true)) };
  },
});

export const loomFail = defineTool<{ task_id: string; reason: string; retryable?: boolean; lease_token?: string; rate_limited?: { reset_at: string }; usage?: UsageReport }>({
  name: 'loom_fail',
  group: 'core',
  description:
    'Report a claimed task you could not complete. retryable (default true) requeues it with backoff until its ' +
    'attempts run out; false (retrying cannot help): it goes to a human. A provider rate limit: rate_limited, no attempt used.',
  inputSchema: obj(
    {
      task_id: taskId(),
      reason: text(5000, 'What went wrong, for the next attempt or a human'),
      retryable: { type: 'boolean' },
      lease_token: leaseToken,
      rate_limited: { type: 'object', description: '{reset_at: ISO time}: ready again then' },
      usage: usage(false),
    },
    ['task_id', 'reason'],
  ),
  annotations: SAFE_WRITE,
  async run(args, ctx) {
    return { ...(await withLease(ctx, args.task_id, args.lease_token, (lease_token) =>
      ctx.api.fail({ ...args, project_id: ctx.project_id, agent_id: ctx.session.agentId, lease_token }), true)) };
  },
});

export const loomRecover = defineTool<{ execute?: 'heartbeat' | 'release' }>({
  name: 'loom_recover',
  group: 'core',
  description:
    'After losing context: the tasks your agent holds, with their leases. execute:"heartbeat" extends every lease ' +
    '(then carry on), "release" gives them all back.',
  inputSchema: obj({ execute: { enum: ['heartbeat', 'release'] } }),
  annotations: { readOnlyHint: false },
  async run(args, ctx) {
    const agent_id = ctx.session.agentId;
    const held = await ctx.api.agentTasks({ project_id: ctx.project_id, agent_id });
    const tasks = [];
    for (const task of held) {
      const token = task.lease_token;
      const entry: Record<string, unknown> = {
        task_id: task.id,
        title: task.title,
        status: task.status,
        lease: { token, expires_at: task.lease_expires_at },
        remembered: token !== null && ctx.session.tokenFor(task.id) === token,
      };
      if (args.execute !== undefined && token !== null) entry.outcome = await recoverOne(ctx, task.id, token, args.execute);
      tasks.push(entry);
    }
    return { agent_id, ...(args.execute === undefined ? {} : { executed: args.execute }), tasks };
  },
});

/** Heartbeats or releases one held task with the token from its row; a failure is reported, not thrown. */
async function recoverOne(ctx: ToolContext, task_id: string, lease_token: string, action: 'heartbeat' | 'release'): Promise<Record<string, unknown>> {
  const input = { project_id: ctx.project_id, task_id, agent_id: ctx.session.agentId, lease_token };
  try {
    if (action === 'heartbeat') {
      const r = await ctx.api.heartbeat(input);
      ctx.session.remember(task_id, lease_token);
      return { ok: true, lease_expires_at: r.lease.expires_at };
    }
    const task = await ctx.api.release({ ...input, reason: 'released by loom_recover' });
    ctx.session.forget(task_id);
    return { ok: true, status: task.status };
  } catch (error) {
    const e = toToolError(error, ctx.log, `loom_recover ${action} ${task_id}`);
    return { ok: false, error: e };
  }
}
