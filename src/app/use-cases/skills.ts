import { LoomError, taskNotFound } from '../../domain/errors.js';
import { TASK_STATUSES, type Project, type Task } from '../../domain/task.js';
import type { RenderedSkill, RenderSkillInput, SkillDetail, SkillInfo, SkillList, SkillStat } from '../../ports/loom-api.js';
import type { Skill } from '../skills/skill-file.js';
import type { SkillRegistry } from '../skills/skill-registry.js';
import { renderSkillText, resolveArguments, type SkillVariables } from '../skills/skill-render.js';
import type { UseCaseDeps } from './deps.js';
import { assertProjectOpen } from './remove-project.js';

/** Largest rendered text (dependencies' outputs add up): past it the render is refused, not cut. */
export const MAX_RENDERED_BYTES = 4 * 1024 * 1024;

type SkillDeps = UseCaseDeps & { skills: SkillRegistry };

const info = (s: Skill): SkillInfo => ({
  name: s.name,
  description: s.description,
  version: s.version,
  source: s.source,
  arguments: s.arguments.map((a) => ({ ...a })),
  tags: [...s.tags],
  suggested_for: [...s.suggested_for],
});

/** Whether a skill fits a task: its suggested_for names the task's status or one of its context.tags. */
export function suggestedFor(skill: Pick<Skill, 'suggested_for'>, task: Pick<Task, 'status' | 'context'>): boolean {
  const tags = Array.isArray(task.context.tags) ? task.context.tags.filter((t): t is string => typeof t === 'string') : [];
  return skill.suggested_for.some((s) => s === task.status || tags.includes(s));
}

async function readTask(d: UseCaseDeps, projectId: string, taskId: string): Promise<Task> {
  const task = await d.store.getTask(projectId, taskId);
  if (task === null) throw taskNotFound(taskId);
  return task;
}

export async function listSkills(d: SkillDeps, input: { project_id: string; task_id?: string }): Promise<SkillList> {
  const task = input.task_id === undefined ? null : await readTask(d, input.project_id, input.task_id);
  const all = await skillCatalog(d.skills);
  if (task === null) return all;
  const list = all.skills.map((s) => ({ ...s, suggested: suggestedFor(s, task) }));
  return { skills: [...list.filter((s) => s.suggested), ...list.filter((s) => !s.suggested)], problems: all.problems };
}

/** Every skill of the registry and the files that are broken: files only, no store (`loom mcp` lists prompts with it before the store is open). */
export async function skillCatalog(registry: SkillDeps['skills']): Promise<SkillList> {
  const { skills, problems } = await registry.catalog();
  return { skills: skills.map(info), problems: problems.map((p) => ({ ...p })) };
}

export async function showSkill(d: SkillDeps, input: { project_id: string; name: string }): Promise<SkillDetail> {
  const s = await d.skills.get(input.name);
  return { ...info(s), path: s.path, content_hash: s.content_hash, body: s.body };
}

/** What a template sees of a task and its neighbourhood: fields picked one by one (never the lease token). */
export async function skillVariables(d: UseCaseDeps, project: Project, task: Task | null): Promise<SkillVariables> {
  // Counts only: walking the whole graph (waves) would cost ~10 ms per 200 tasks on every render.
  const [counts, ready] = await Promise.all([d.store.countByStatus(project.id), d.store.readyCount(project.id, d.clock.now())]);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const parts = TASK_STATUSES.filter((s) => (counts[s] ?? 0) > 0).map((s) => `${s} ${counts[s]}`);
  const summary = `${total} task${total === 1 ? '' : 's'} (${parts.length === 0 ? 'none yet' : parts.join(', ')}); ${ready} ready to claim`;
  const graph = { total, ready, blocked: counts.blocked ?? 0, summary };
  const base = { project: { id: project.id, name: project.name }, graph };
  if (task === null) return { ...base, task: null, dependencies: [], epic: null };
  const related = await d.store.transaction((tx) => tx.getTasks(project.id, [...task.depends_on, ...(task.parent_id === null ? [] : [task.parent_id])]));
  const byId = new Map(related.map((t) => [t.id, t]));
  const dependencies = task.depends_on
    .map((id) => byId.get(id))
    .filter((t): t is Task => t !== undefined)
    .map((t) => ({ id: t.id, title: t.title, done_when: t.done_when, status: t.status, output: t.output }));
  const parent = task.parent_id === null ? undefined : byId.get(task.parent_id);
  return {
    ...base,
    task: {
      id: task.id,
      title: task.title,
      context: task.context,
      done_when: task.done_when,
      priority: task.priority,
      status: task.status,
      attempts: task.attempts,
      max_attempts: task.max_attempts,
      failure_reason: task.failure_reason,
    },
    dependencies,
    epic: parent === undefined ? null : { id: parent.id, title: parent.title, context: parent.context, done_when: parent.done_when },
  };
}

/**
 * Renders a skill. For a task, the run is recorded: a skill_runs row and its
 * skill.used event in one transaction. Everything is checked (the skill, its
 * arguments, the task, the render) before anything is written.
 */
export async function renderSkill(d: SkillDeps, project: Project, input: RenderSkillInput): Promise<RenderedSkill> {
  const skill = await d.skills.get(input.name);
  const args = resolveArguments(skill, input.arguments);
  const task = input.task_id === undefined ? null : await readTask(d, project.id, input.task_id);
  const text = renderSkillText(skill, args, await skillVariables(d, project, task));
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_RENDERED_BYTES) {
    throw new LoomError('RESPONSE_TOO_LARGE', `skill ${skill.name} renders to ${bytes} bytes; at most ${MAX_RENDERED_BYTES} are allowed`, {
      hint: 'the dependencies\' outputs are too large to hand over whole: keep large material in files and put their paths in the outputs; nothing was recorded',
      details: { skill: skill.name, bytes, limit: MAX_RENDERED_BYTES },
    });
  }
  const result: RenderedSkill = { name: skill.name, source: skill.source, version: skill.version, content_hash: skill.content_hash, text };
  if (task === null) return result;
  const now = d.clock.now();
  const { runId, events } = await d.store.transaction(async (tx) => {
    await assertProjectOpen(tx, project.id);
    const written = await tx.appendEvents(
      project.id,
      [
        {
          type: 'skill.used',
          task_id: task.id,
          agent_id: input.agent_id ?? null,
          payload: { skill: skill.name, version: skill.version, source: skill.source, content_hash: skill.content_hash },
        },
      ],
      now,
    );
    const event = written[0]!;
    const id = await tx.insertSkillRun({
      project_id: project.id,
      skill: skill.name,
      source: skill.source,
      version: skill.version,
      content_hash: skill.content_hash,
      task_id: task.id,
      agent_id: input.agent_id ?? null,
      event_id: event.id,
      at: now,
    });
    return { runId: id, events: written };
  });
  d.bus.publish(events);
  return { ...result, run_id: runId };
}

export async function skillStats(d: UseCaseDeps, input: { project_id: string }): Promise<SkillStat[]> {
  return d.store.skillStats(input.project_id);
}
