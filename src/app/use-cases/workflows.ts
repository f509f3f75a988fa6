import { budgetMicrosOf } from '../../domain/budget.js';
import { LoomError } from '../../domain/errors.js';
import type { NewEvent } from '../../domain/events.js';
import { checkPlan } from '../../domain/plan.js';
import type { JsonObject, Project, Task, TaskStatus } from '../../domain/task.js';
import type {
  RunWorkflowInput,
  WorkflowDetail,
  WorkflowInfo,
  WorkflowList,
  WorkflowRunDetail,
  WorkflowRunResult,
  WorkflowRunStatus,
  WorkflowRunView,
} from '../../ports/loom-api.js';
import type { WorkflowRunRecord } from '../../ports/task-store.js';
import { checkJsonSize, checkPlanContexts } from '../schemas.js';
import { expandWorkflow } from '../workflows/expand.js';
import type { Workflow } from '../workflows/workflow-file.js';
import type { WorkflowRegistry } from '../workflows/workflow-registry.js';
import type { UseCaseDeps } from './deps.js';
import { writePlan } from './plan-writer.js';

export type WorkflowDeps = UseCaseDeps & { workflows: WorkflowRegistry };

const ID_ATTEMPTS = 8;

const info = (w: Workflow): WorkflowInfo => ({
  name: w.name,
  description: w.description,
  version: w.version,
  source: w.source,
  inputs: w.inputs.map((i) => ({ ...i })),
  steps: w.steps.map((s) => ({
    id: s.id,
    title: s.title_source ?? null,
    skill: s.skill ?? null,
    depends_on: [...s.depends_on],
    when: s.when?.source ?? null,
    for_each: s.for_each?.source ?? null,
    uses: s.uses ?? null,
    loop: s.loop === undefined ? null : { until: s.loop.until.source, max_rounds: s.loop.max_rounds, repeat: [...s.loop.repeat] },
  })),
});

export async function listWorkflows(d: WorkflowDeps): Promise<WorkflowList> {
  const { items, problems } = await d.workflows.catalog();
  return { workflows: items.map(info), problems: problems.map((p) => ({ ...p })) };
}

export async function showWorkflow(d: WorkflowDeps, name: string): Promise<WorkflowDetail> {
  const w = await d.workflows.get(name);
  return { ...info(w), path: w.path, content_hash: w.content_hash, text: w.text };
}

/**
 * A run: the workflow expanded for these inputs, checked as a plan, then
 * written with its epic and its workflow_runs row in one transaction (under
 * the graph lock, where a run key is looked up first: one run per key).
 */
export async function runWorkflow(d: WorkflowDeps, project: Project, input: RunWorkflowInput): Promise<WorkflowRunResult> {
  const wf = await d.workflows.get(input.name);
  const skills = d.skills === undefined ? undefined : new Set((await d.skills.catalog()).skills.map((s) => s.name));
  const run = await expandWorkflow(wf, input.inputs ?? {}, (name) => d.workflows.get(name), skills);
  // Rendered contexts (and the inputs the epic keeps) within the limit a single create has.
  checkPlanContexts('runWorkflow', run.plan.tasks, d.settings.max_context_bytes);
  checkJsonSize('runWorkflow', 'inputs', run.inputs, d.settings.max_context_bytes, 'tasks.max_context_bytes');
  // Workflows may be flat on purpose (independent checks): the edges are the author's, checked at load.
  const shape = checkPlan(run.plan, { allow_flat: true });
  if (input.dry_run === true) {
    return {
      stage: 'dry_run',
      workflow: wf.name,
      version: wf.version,
      title: run.title,
      inputs: run.inputs as JsonObject,
      tasks: run.plan.tasks.map((t) => ({ key: t.key, title: t.title, priority: t.priority, depends_on: [...t.depends_on], done_when: t.done_when, skill: t.skill, wave: shape.wave.get(t.key)! })),
      edges: shape.edges,
      waves: shape.waves,
      critical_path: shape.critical_path,
      skipped: run.skipped,
      steps: run.steps,
    };
  }
  if (run.plan.tasks.length === 0) {
    throw new LoomError('VALIDATION_FAILED', `${wf.name}: every step was skipped for these inputs; there is nothing to run`, {
      hint: 'check the inputs against the steps\' when conditions (loom workflow run NAME --dry-run shows them). Nothing was written',
      details: { workflow: wf.name, skipped: run.skipped },
    });
  }
  const p = project.id;
  const budgetMicros = input.budget_usd === undefined ? null : budgetMicrosOf(input.budget_usd);
  const origin = input.agent_id === undefined ? { kind: 'workflow', id: wf.name } : { kind: 'agent', id: input.agent_id };
  for (let attempt = 0; attempt < ID_ATTEMPTS; attempt++) {
    const now = d.clock.now();
    const result = await d.store.transaction(async (tx) => {
      await tx.lockGraph(p);
      if (input.run_key !== undefined) {
        const earlier = await tx.findWorkflowRun(p, input.run_key);
        if (earlier !== null) return { record: earlier, created: false, events: [] };
      }
      const written = await writePlan(d, tx, {
        project_id: p,
        plan: run.plan,
        shape,
        parent: {
          title: run.title,
          context: { workflow: wf.name, version: wf.version, inputs: run.inputs as JsonObject, ...(input.run_key === undefined ? {} : { run_key: input.run_key }) },
          ...(input.parent_id === undefined ? {} : { parent_id: input.parent_id }),
        },
        origin,
        now,
      });
      if (written === null) return null;
      const steps = Object.fromEntries(Object.entries(run.steps).map(([step, keys]) => [step, keys.map((k) => written.task_ids[k]!)]));
      const record: Omit<WorkflowRunRecord, 'id'> = {
        project_id: p,
        workflow: wf.name,
        source: wf.source,
        version: wf.version,
        content_hash: wf.content_hash,
        inputs: run.inputs,
        epic_id: written.epic_id,
        run_key: input.run_key ?? null,
        steps,
        tasks: written.task_ids,
        skipped: run.skipped,
        created_at: now.toISOString(),
      };
      const id = await tx.insertWorkflowRun(record);
      // The epic names its run, so its completion can say the run is complete (workflow.completed).
      await tx.updateTask({ ...written.epic, context: { ...written.epic.context, workflow_run: id } });
      const events: NewEvent[] = [
        ...written.events,
        {
          type: 'workflow.started',
          task_id: written.epic_id,
          agent_id: input.agent_id ?? null,
          payload: { run_id: id, workflow: wf.name, version: wf.version, source: wf.source, epic_id: written.epic_id, tasks: run.plan.tasks.length, run_key: input.run_key ?? null },
        },
        ...run.skipped.map((s) => ({
          type: 'workflow.step_skipped' as const,
          task_id: written.epic_id,
          agent_id: null,
          payload: { run_id: id, workflow: wf.name, step: s.step, reason: s.reason },
        })),
      ];
      if (budgetMicros !== null) {
        // Nothing was spent under a new epic yet: the budget starts clear.
        await tx.saveBudget(p, { scope: written.epic_id, budget_micros: budgetMicros, warned_at: null, exceeded_at: null, escalation_id: null }, now);
        events.push({ type: 'budget.set', task_id: written.epic_id, agent_id: input.agent_id ?? null, payload: { scope: written.epic_id, run_id: id, budget_usd: budgetMicros / 1e6, previous_usd: null, spent_usd: 0, resumed: 0, held: 0 } });
      }
      const appended = await tx.appendEvents(p, events, now);
      return { record: { ...record, id }, created: true, events: appended };
    });
    if (result === null) continue; // an id was taken: draw again
    d.bus.publish(result.events);
    return {
      stage: 'started',
      run_id: result.record.id,
      epic_id: result.record.epic_id,
      created: result.created,
      tasks: result.record.tasks,
      steps: result.record.steps,
      skipped: result.record.skipped,
    };
  }
  throw new LoomError('INTERNAL', 'could not allocate task ids for the workflow run', { hint: 'try again' });
}

function statusOf(epic: Task | undefined, tasks: readonly Task[]): WorkflowRunStatus {
  if (epic?.status === 'done') return 'done';
  if (epic?.status === 'cancelled') return 'cancelled';
  if (tasks.some((t) => t.status === 'failed')) return 'failed';
  if (tasks.some((t) => t.status === 'blocked' && (t.blocked_reason === 'escalation' || t.blocked_reason === 'dependency_failed'))) return 'escalated';
  return 'running';
}

async function view(d: UseCaseDeps, r: WorkflowRunRecord): Promise<{ view: WorkflowRunView; tasks: Map<string, Task> }> {
  const ids = [r.epic_id, ...Object.values(r.steps).flat()];
  const tasks = new Map((await d.store.transaction((tx) => tx.getTasks(r.project_id, ids))).map((t) => [t.id, t]));
  const stepTasks = Object.values(r.steps)
    .flat()
    .map((id) => tasks.get(id))
    .filter((t): t is Task => t !== undefined);
  const counts: Partial<Record<TaskStatus, number>> = {};
  for (const t of stepTasks) counts[t.status] = (counts[t.status] ?? 0) + 1;
  const epic = tasks.get(r.epic_id);
  return {
    view: {
      run_id: r.id,
      workflow: r.workflow,
      version: r.version,
      source: r.source,
      epic_id: r.epic_id,
      title: epic?.title ?? r.workflow,
      run_key: r.run_key,
      status: statusOf(epic, stepTasks),
      inputs: r.inputs as JsonObject,
      started_at: r.created_at,
      counts,
    },
    tasks,
  };
}

export async function workflowRuns(d: UseCaseDeps, input: { project_id: string; limit?: number }): Promise<WorkflowRunView[]> {
  const runs = await d.store.workflowRuns(input.project_id, input.limit ?? 50);
  return Promise.all(runs.map(async (r) => (await view(d, r)).view));
}

export async function workflowRun(d: UseCaseDeps, input: { project_id: string; run_id: number }): Promise<WorkflowRunDetail> {
  const r = await d.store.workflowRun(input.project_id, input.run_id);
  if (r === null) {
    throw new LoomError('VALIDATION_FAILED', `no workflow run ${input.run_id} in this project`, {
      hint: 'list the runs with `loom workflow runs`',
      details: { run_id: input.run_id },
    });
  }
  const { view: v, tasks } = await view(d, r);
  const skipped = new Map(r.skipped.map((s) => [s.step, s.reason]));
  return {
    ...v,
    steps: Object.entries(r.steps).map(([step, ids]) => ({
      step,
      skipped: skipped.get(step) ?? null,
      tasks: ids.map((id) => tasks.get(id)).filter((t): t is Task => t !== undefined).map((t) => ({ id: t.id, title: t.title, status: t.status })),
    })),
  };
}

