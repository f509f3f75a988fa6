import { LoomError, projectRemoved, validationFailed } from '../domain/errors.js';
import type { LoomEvent } from '../domain/events.js';
import type { Message } from '../domain/message.js';
import type { Project, Task } from '../domain/task.js';
import type { BatchResult, LoomApi, TickReport } from '../ports/loom-api.js';
import { deadLetters, listAgents, listEscalations, reconcile, redrive, resolveEscalation } from './use-cases/orchestration.js';
import { checkJsonSize, validateInput, type ApiMethod } from './schemas.js';
import { withinBytes } from './use-cases/bounded.js';
import { claimBatch, claimTask } from './use-cases/claim-task.js';
import { completeBatch, failBatch } from './use-cases/report-batch.js';
import { createTask } from './use-cases/create-task.js';
import { checkBatchSize, createTasks } from './use-cases/create-tasks.js';
import type { UseCaseDeps } from './use-cases/deps.js';
import { cancelTask, escalateTask } from './use-cases/intervene.js';
import { holdTask, resumeTask } from './use-cases/hold.js';
import { listTasks, projectGraph, projectOverview, readyTasks, taskDetail } from './use-cases/read-models.js';
import { costs } from './use-cases/costs.js';
import { listBudgets, setBudget } from './use-cases/budgets.js';
import { completeTask, expireLeases, failTask, heartbeat, releaseTask } from './use-cases/report-task.js';
import { readInbox, sendMessage } from './use-cases/messaging.js';
import { createProject } from './use-cases/create-project.js';
import { removeProject } from './use-cases/remove-project.js';
import { fsck } from './use-cases/fsck.js';
import { exportProject, importProject } from './use-cases/archive.js';
import { projectMetrics } from './use-cases/metrics.js';
import { updateTask as updateTaskUseCase } from './use-cases/update-task.js';
import { listSkills, renderSkill, showSkill, skillStats } from './use-cases/skills.js';
import { SkillRegistry } from './skills/skill-registry.js';
import { decompose } from './use-cases/decompose.js';
import { listWorkflows, runWorkflow, showWorkflow, workflowRun, workflowRuns, type WorkflowDeps } from './use-cases/workflows.js';
import { WorkflowRegistry } from './workflows/workflow-registry.js';

/**
 * Writes a project known (in this process) to be removed refuses before it touches the store.
 * A removal by another process is seen by the write itself: the writes that could still succeed
 * on a removed project's rows check the project row in their transaction (assertProjectOpen);
 * the lease calls do not, and `leaseCall` names the cause when they are refused.
 */
const WRITES: ReadonlySet<ApiMethod> = new Set<ApiMethod>([
  'createTask', 'createTasks', 'updateTask', 'claim', 'claimBatch', 'heartbeat', 'done', 'fail', 'doneBatch', 'failBatch', 'release', 'escalate', 'cancel', 'hold', 'resume', 'setBudget',
  'sendMessage', 'redrive', 'resolveEscalation', 'removeProject',
]);

const removedAt = (p: Project): string | null => p.removed_at ?? null;

/**
 * The application service behind the LoomApi port: validates every input
 * against its schema, checks the project exists, then runs one use case.
 */
export class LoomService implements LoomApi {
  private readonly knownProjects = new Map<string, Project>();
  private readonly skillDeps: UseCaseDeps & { skills: SkillRegistry };
  private readonly workflowDeps: WorkflowDeps;

  constructor(
    private readonly d: UseCaseDeps,
    private readonly onClose: () => Promise<void> = async () => {},
  ) {
    this.skillDeps = { ...d, skills: d.skills ?? new SkillRegistry(() => []) };
    this.workflowDeps = { ...d, workflows: d.workflows ?? new WorkflowRegistry(() => []) };
  }

  private async project(method: ApiMethod, input: unknown): Promise<Project> {
    validateInput(method, input);
    const id = (input as { project_id: string }).project_id;
    const known = this.knownProjects.get(id);
    if (known !== undefined) {
      // Projects are never deleted, and a removed one stays removed: the cache can say so.
      if (WRITES.has(method) && removedAt(known) !== null) throw projectRemoved(id, removedAt(known));
      return known;
    }
    const project = await this.d.store.getProject(id);
    if (project === null) {
      throw new LoomError('PROJECT_NOT_FOUND', `no project ${id} in this database`, {
        hint: "run `loom init` in the project directory: it makes the project in this store (empty: an embedded store, .loom/data, belongs to one clone on one machine and is not in git; to share one task graph between clones and machines, use server mode, see Storage modes in Loom's README); or check project.id in .loom/config.yaml",
        details: { project_id: id },
      });
    }
    this.knownProjects.set(id, project);
    if (WRITES.has(method) && removedAt(project) !== null) throw projectRemoved(id, removedAt(project));
    return project;
  }

  /**
   * Claim, heartbeat, done, fail and release do not check the project row (the claim cycle stays
   * as lean as it was): after a removal there is nothing to claim and every lease was ended by
   * the cancel. Only when one of them is refused, or a claim finds nothing, is the row read, so a
   * removal by another process is reported as PROJECT_REMOVED instead of LEASE_LOST and the like.
   */
  private async leaseCall<T>(projectId: string, call: () => Promise<T>, empty: (r: T) => boolean = () => false): Promise<T> {
    let result: T;
    try {
      result = await call();
    } catch (e) {
      if (LoomError.is(e) && e.code !== 'PROJECT_REMOVED') await this.refuseIfRemoved(projectId, e);
      throw e;
    }
    if (empty(result)) await this.refuseIfRemoved(projectId);
    return result;
  }

  /**
   * leaseCall for a batch: an item refused (other than by PROJECT_REMOVED) has the project row
   * read, once, and when the project was removed every refusal says so.
   */
  private async batchLeaseCall<R>(projectId: string, call: () => Promise<BatchResult<R>>): Promise<BatchResult<R>> {
    const r = await this.leaseCall(projectId, call);
    if (!r.results.some((x) => !x.ok && x.error.code !== 'PROJECT_REMOVED')) return r;
    try {
      await this.refuseIfRemoved(projectId);
      return r;
    } catch (e) {
      if (!LoomError.is(e) || e.code !== 'PROJECT_REMOVED') throw e;
      const removed = e.toJSON();
      return { results: r.results.map((x) => (x.ok ? x : { ...x, error: removed })) };
    }
  }

  /** Each task once in a batch: two reports of one task in one call are a mistake, not a race to settle. */
  private distinctTasks(method: ApiMethod, items: ReadonlyArray<{ task_id: string }>): void {
    const seen = new Set<string>();
    for (const [i, item] of items.entries()) {
      if (seen.has(item.task_id)) throw validationFailed(`invalid ${method} input: items.${i}.task_id: ${item.task_id} is in the batch twice`, { method });
      seen.add(item.task_id);
    }
  }

  private async refuseIfRemoved(projectId: string, cause?: unknown): Promise<void> {
    const fresh = await this.d.store.getProject(projectId);
    if (fresh === null || removedAt(fresh) === null) return;
    this.knownProjects.set(projectId, fresh);
    throw projectRemoved(projectId, removedAt(fresh), cause);
  }

  private contextSize(method: ApiMethod, context: unknown): void {
    checkJsonSize(method, 'context', context, this.d.settings.max_context_bytes, 'tasks.max_context_bytes');
  }

  private outputSize(method: ApiMethod, output: unknown, field = 'output'): void {
    checkJsonSize(method, field, output, this.d.settings.max_output_bytes, 'tasks.max_output_bytes');
  }

  async createProject(input: { name: string; id?: string }): Promise<Project> {
    validateInput('createProject', input);
    return createProject(this.d, input);
  }
  async getProject(input: { project_id: string }): Promise<Project> {
    return this.project('getProject', input);
  }
  async projects(input: Parameters<LoomApi['projects']>[0]): ReturnType<LoomApi['projects']> {
    validateInput('projects', input);
    return this.d.store.projects();
  }
  async removeProject(input: Parameters<LoomApi['removeProject']>[0]): ReturnType<LoomApi['removeProject']> {
    await this.project('removeProject', input);
    const removed = await removeProject(this.d, input);
    this.knownProjects.set(input.project_id, removed.project);
    return removed;
  }
  async createTask(input: Parameters<LoomApi['createTask']>[0]): Promise<Task> {
    await this.project('createTask', input);
    this.contextSize('createTask', input.context);
    return createTask(this.d, input);
  }
  async createTasks(input: Parameters<LoomApi['createTasks']>[0]): ReturnType<LoomApi['createTasks']> {
    checkBatchSize((input as { tasks?: unknown } | null)?.tasks);
    await this.project('createTasks', input);
    input.tasks.forEach((t, i) =>
      checkJsonSize('createTasks', `tasks[${i}]${t.key === undefined ? '' : ` (${t.key})`}.context`, t.context, this.d.settings.max_context_bytes, 'tasks.max_context_bytes'),
    );
    return createTasks(this.d, input);
  }
  async updateTask(input: Parameters<LoomApi['updateTask']>[0]): Promise<Task> {
    await this.project('updateTask', input);
    this.contextSize('updateTask', input.context);
    return updateTaskUseCase(this.d, input);
  }
  async ready(input: Parameters<LoomApi['ready']>[0]): Promise<Task[]> {
    await this.project('ready', input);
    return readyTasks(this.d, input);
  }
  async listTasks(input: Parameters<LoomApi['listTasks']>[0]): Promise<Task[]> {
    await this.project('listTasks', input);
    return listTasks(this.d, input);
  }
  async claim(input: Parameters<LoomApi['claim']>[0]): ReturnType<LoomApi['claim']> {
    await this.project('claim', input);
    return this.leaseCall(input.project_id, () => claimTask(this.d, input), (r) => !r.claimed);
  }
  async claimBatch(input: Parameters<LoomApi['claimBatch']>[0]): ReturnType<LoomApi['claimBatch']> {
    await this.project('claimBatch', input);
    if (input.count !== undefined && input.agent_ids !== undefined && input.count !== input.agent_ids.length) {
      throw validationFailed(`invalid claimBatch input: count is ${input.count} but agent_ids names ${input.agent_ids.length} agents (give one of them)`, { method: 'claimBatch' });
    }
    return this.leaseCall(input.project_id, () => claimBatch(this.d, input), (r) => r.claims.length === 0);
  }
  async doneBatch(input: Parameters<LoomApi['doneBatch']>[0]): ReturnType<LoomApi['doneBatch']> {
    await this.project('doneBatch', input);
    this.distinctTasks('doneBatch', input.items);
    input.items.forEach((item, i) => this.outputSize('doneBatch', item.output, `items[${i}].output`));
    return this.batchLeaseCall(input.project_id, () => completeBatch(this.d, input.project_id, input.items));
  }
  async failBatch(input: Parameters<LoomApi['failBatch']>[0]): ReturnType<LoomApi['failBatch']> {
    await this.project('failBatch', input);
    this.distinctTasks('failBatch', input.items);
    return this.batchLeaseCall(input.project_id, () => failBatch(this.d, input.project_id, input.items));
  }
  async heartbeat(input: Parameters<LoomApi['heartbeat']>[0]): ReturnType<LoomApi['heartbeat']> {
    await this.project('heartbeat', input);
    return this.leaseCall(input.project_id, () => heartbeat(this.d, input));
  }
  async done(input: Parameters<LoomApi['done']>[0]): ReturnType<LoomApi['done']> {
    await this.project('done', input);
    this.outputSize('done', input.output);
    return this.leaseCall(input.project_id, () => completeTask(this.d, input));
  }
  async fail(input: Parameters<LoomApi['fail']>[0]): ReturnType<LoomApi['fail']> {
    await this.project('fail', input);
    return this.leaseCall(input.project_id, () => failTask(this.d, input));
  }
  async costs(input: Parameters<LoomApi['costs']>[0]): ReturnType<LoomApi['costs']> {
    await this.project('costs', input);
    return costs(this.d, input);
  }
  async setBudget(input: Parameters<LoomApi['setBudget']>[0]): ReturnType<LoomApi['setBudget']> {
    await this.project('setBudget', input);
    return setBudget(this.d, input);
  }
  async budgets(input: Parameters<LoomApi['budgets']>[0]): ReturnType<LoomApi['budgets']> {
    await this.project('budgets', input);
    return listBudgets(this.d, input);
  }
  async escalate(input: Parameters<LoomApi['escalate']>[0]): ReturnType<LoomApi['escalate']> {
    await this.project('escalate', input);
    return escalateTask(this.d, input);
  }
  async cancel(input: Parameters<LoomApi['cancel']>[0]): ReturnType<LoomApi['cancel']> {
    await this.project('cancel', input);
    return cancelTask(this.d, input);
  }
  async hold(input: Parameters<LoomApi['hold']>[0]): ReturnType<LoomApi['hold']> {
    await this.project('hold', input);
    return holdTask(this.d, input);
  }
  async resume(input: Parameters<LoomApi['resume']>[0]): ReturnType<LoomApi['resume']> {
    await this.project('resume', input);
    return resumeTask(this.d, input);
  }
  async status(input: Parameters<LoomApi['status']>[0]): ReturnType<LoomApi['status']> {
    await this.project('status', input);
    return taskDetail(this.d, input);
  }
  async overview(input: { project_id: string }): ReturnType<LoomApi['overview']> {
    return projectOverview(this.d, await this.project('overview', input));
  }
  async graph(input: Parameters<LoomApi['graph']>[0]): ReturnType<LoomApi['graph']> {
    await this.project('graph', input);
    return projectGraph(this.d, input);
  }
  async events(input: Parameters<LoomApi['events']>[0]): Promise<LoomEvent[]> {
    await this.project('events', input);
    return withinBytes(
      await this.d.store.events(input.project_id, {
        limit: input.limit ?? 100,
        ...(input.since === undefined ? {} : { since: input.since }),
        ...(input.task_id === undefined ? {} : { task_id: input.task_id }),
      }),
    );
  }
  async recoverLeases(input: { project_id: string }): ReturnType<LoomApi['recoverLeases']> {
    await this.project('recoverLeases', input);
    return expireLeases(this.d, input.project_id);
  }
  async reconcile(input: { project_id: string }): Promise<TickReport> {
    await this.project('reconcile', input);
    return reconcile(this.d, input.project_id);
  }
  /** The tick of a process that serves every project (the embedded daemon). */
  async reconcileAll(): Promise<TickReport> {
    return reconcile(this.d, null);
  }
  async deadLetters(input: { project_id: string; limit?: number }): Promise<Task[]> {
    await this.project('deadLetters', input);
    return deadLetters(this.d, input);
  }
  async redrive(input: Parameters<LoomApi['redrive']>[0]): ReturnType<LoomApi['redrive']> {
    await this.project('redrive', input);
    return redrive(this.d, input);
  }
  async escalations(input: Parameters<LoomApi['escalations']>[0]): ReturnType<LoomApi['escalations']> {
    await this.project('escalations', input);
    return listEscalations(this.d, input);
  }
  async resolveEscalation(input: Parameters<LoomApi['resolveEscalation']>[0]): ReturnType<LoomApi['resolveEscalation']> {
    await this.project('resolveEscalation', input);
    this.outputSize('resolveEscalation', input.output);
    return resolveEscalation(this.d, input);
  }
  async agents(input: { project_id: string }): ReturnType<LoomApi['agents']> {
    await this.project('agents', input);
    return listAgents(this.d, input);
  }
  async release(input: Parameters<LoomApi['release']>[0]): Promise<Task> {
    await this.project('release', input);
    return this.leaseCall(input.project_id, () => releaseTask(this.d, input));
  }
  async agentTasks(input: { project_id: string; agent_id: string }): Promise<Task[]> {
    await this.project('agentTasks', input);
    return this.d.store.agentTasks(input.project_id, input.agent_id);
  }
  async sendMessage(input: Parameters<LoomApi['sendMessage']>[0]): Promise<Message> {
    await this.project('sendMessage', input);
    return sendMessage(this.d, input);
  }
  async inbox(input: Parameters<LoomApi['inbox']>[0]): Promise<Message[]> {
    await this.project('inbox', input);
    return readInbox(this.d, input);
  }
  async fsck(input: Parameters<LoomApi['fsck']>[0]): ReturnType<LoomApi['fsck']> {
    await this.project('fsck', input);
    return fsck(this.d, input);
  }
  async exportProject(input: Parameters<LoomApi['exportProject']>[0]): ReturnType<LoomApi['exportProject']> {
    await this.project('exportProject', input);
    return exportProject(this.d, input);
  }
  async importProject(input: Parameters<LoomApi['importProject']>[0]): ReturnType<LoomApi['importProject']> {
    validateInput('importProject', input);
    return importProject(this.d, input);
  }
  async skills(input: Parameters<LoomApi['skills']>[0]): ReturnType<LoomApi['skills']> {
    await this.project('skills', input);
    return listSkills(this.skillDeps, input);
  }
  async skill(input: Parameters<LoomApi['skill']>[0]): ReturnType<LoomApi['skill']> {
    await this.project('skill', input);
    return showSkill(this.skillDeps, input);
  }
  async renderSkill(input: Parameters<LoomApi['renderSkill']>[0]): ReturnType<LoomApi['renderSkill']> {
    const project = await this.project('renderSkill', input);
    return renderSkill(this.skillDeps, project, input);
  }
  async skillStats(input: Parameters<LoomApi['skillStats']>[0]): ReturnType<LoomApi['skillStats']> {
    await this.project('skillStats', input);
    return skillStats(this.d, input);
  }
  async workflows(input: Parameters<LoomApi['workflows']>[0]): ReturnType<LoomApi['workflows']> {
    await this.project('workflows', input);
    return listWorkflows(this.workflowDeps);
  }
  async workflow(input: Parameters<LoomApi['workflow']>[0]): ReturnType<LoomApi['workflow']> {
    await this.project('workflow', input);
    return showWorkflow(this.workflowDeps, input.name);
  }
  async runWorkflow(input: Parameters<LoomApi['runWorkflow']>[0]): ReturnType<LoomApi['runWorkflow']> {
    const project = await this.project('runWorkflow', input);
    return runWorkflow(this.workflowDeps, project, input);
  }
  async workflowRuns(input: Parameters<LoomApi['workflowRuns']>[0]): ReturnType<LoomApi['workflowRuns']> {
    await this.project('workflowRuns', input);
    return workflowRuns(this.d, input);
  }
  async workflowRun(input: Parameters<LoomApi['workflowRun']>[0]): ReturnType<LoomApi['workflowRun']> {
    await this.project('workflowRun', input);
    return workflowRun(this.d, input);
  }
  async decompose(input: Parameters<LoomApi['decompose']>[0]): ReturnType<LoomApi['decompose']> {
    const project = await this.project('decompose', input);
    return decompose(this.skillDeps, project, input);
  }
  async metrics(input: Parameters<LoomApi['metrics']>[0]): ReturnType<LoomApi['metrics']> {
    await this.project('metrics', input);
    return projectMetrics(this.d, input);
  }
  async close(): Promise<void> {
    await this.onClose();
  }
}

