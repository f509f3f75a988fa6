import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { lstat, readdir, readFile, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { newAjv2020 } from '../lazy-ajv.js';
import { builtinSkillsDir } from '../../adapters/skills/directory-skill-source.js';
import { LoomError, taskNotFound, validationFailed } from '../../domain/errors.js';
import {
  canonicalJson,
  checkAgainstGraph,
  checkPlan,
  normalizePlan,
  type Plan,
  type PlanShape,
} from '../../domain/plan.js';
import type { JsonObject, Origin, Project, Task } from '../../domain/task.js';
import type {
  DecomposeApplied,
  DecomposeDryRun,
  DecomposeInput,
  DecomposePrompt,
  DecomposeResult,
  PlannedTaskView,
} from '../../ports/loom-api.js';
import type { TaskStoreTx } from '../../ports/task-store.js';
import { checkPlanContexts, describeErrors } from '../schemas.js';
import { resolveArguments, renderSkillText } from '../skills/skill-render.js';
import type { SkillRegistry } from '../skills/skill-registry.js';
import { skillVariables } from './skills.js';
import { writePlan } from './plan-writer.js';
import type { UseCaseDeps } from './deps.js';

/** Largest spec file read for decomposition. */
export const MAX_SPEC_BYTES = 256 * 1024;
/** Open tasks listed in the decompose skill (the newest first past this). */
const MAX_OPEN_TASKS = 200;
/** Lines of the file tree summary. */
const MAX_TREE_LINES = 200;
const ID_ATTEMPTS = 8;

export type DecomposeDeps = UseCaseDeps & { skills: SkillRegistry };

let planSchema: JsonObject | undefined;
let planValidator: ValidateFunction | undefined;

/** The decomposition plan's JSON Schema, as shipped in src/plugins/builtin/schemas. */
export function decompositionPlanSchema(): JsonObject {
  planSchema ??= JSON.parse(readFileSync(join(dirname(builtinSkillsDir()), 'schemas', 'decomposition-plan.schema.json'), 'utf8')) as JsonObject;
  return planSchema;
}

function validatePlanSchema(plan: unknown): void {
  // Ajv for draft 2020-12, the plan schema's dialect; compiled once, on first use.
  planValidator ??= newAjv2020({ allErrors: true, strict: false }).compile(decompositionPlanSchema());
  const tasks = (plan as { tasks?: unknown }).tasks;
  if (Array.isArray(tasks) && tasks.length > 2000) {
    // Said before the schema speaks (its error lists every item past the limit).
    checkPlan({ title: '', tasks: tasks as Plan['tasks'] }, { allow_flat: true });
  }
  if (!planValidator(plan)) {
    const errors = (planValidator.errors ?? []).filter((e) => e.keyword !== 'if').slice(0, 20);
    throw new LoomError('VALIDATION_FAILED', `the plan does not match its schema: ${describeErrors(errors, 'plan')}`, {
      hint: 'call loom_decompose without a plan for the plan JSON Schema and an example; fix these fields and send it again. Nothing was written',
      details: { errors: errors.map((e) => ({ path: `plan${e.instancePath.replace(/\//g, '.')}`, message: e.message ?? 'invalid' })) },
    });
  }
}

/** sha256 over the normalised plan and where it goes: the same plan under the same parent hashes alike. */
export function planHash(plan: Plan, parentId: string | null, allowFlat: boolean): string {
  return createHash('sha256').update(canonicalJson({ v: 1, plan, parent: parentId, allow_flat: allowFlat })).digest('hex');
}

function target(input: DecomposeInput): 'goal' | 'spec' | 'epic' {
  const given = (['goal', 'spec_path', 'epic_id'] as const).filter((k) => input[k] !== undefined);
  if (given.length !== 1) {
    throw new LoomError('VALIDATION_FAILED', `loom_decompose needs exactly one of goal, spec_path or epic_id; got ${given.length === 0 ? 'none' : given.join(' and ')}`, {
      hint: 'goal: what to achieve, in words; spec_path: a spec file inside the project; epic_id: an existing epic to break down. Nothing was written',
      details: { given },
    });
  }
  return given[0] === 'goal' ? 'goal' : given[0] === 'spec_path' ? 'spec' : 'epic';
}

/**
 * A spec file inside the project directory: a relative path that stays in
 * it (symbolic links resolved), a regular file, at most MAX_SPEC_BYTES.
 */
export async function readSpec(projectDir: string | null | undefined, specPath: string): Promise<string> {
  if (projectDir === undefined || projectDir === null) {
    throw validationFailed('this Loom service has no project directory to read spec_path from: pass the spec text as goal', { spec_path: specPath });
  }
  if (specPath.split(/[\\/]/).includes('..')) {
    throw new LoomError('VALIDATION_FAILED', `spec_path ${JSON.stringify(specPath.slice(0, 200))} contains "..": give a path inside the project directory`, {
      hint: 'give a path relative to the project directory (where .loom/ is), without ..; or pass the spec text as goal. Nothing was read',
      details: { spec_path: specPath.slice(0, 1000) },
    });
  }
  const outside = () =>
    new LoomError('VALIDATION_FAILED', `spec_path ${JSON.stringify(specPath.slice(0, 200))} is outside the project directory`, {
      hint: 'give a path relative to the project directory (where .loom/ is), without ../ leaving it; or pass the spec text as goal. Nothing was read',
      details: { spec_path: specPath.slice(0, 1000) },
    });
  if (isAbsolute(specPath)) throw outside();
  const root = await realpath(projectDir);
  const lexical = resolve(root, specPath);
  if (lexical !== root && !lexical.startsWith(root + sep)) throw outside();
  let real: string;
  try {
    real = await realpath(lexical);
  } catch {
    throw new LoomError('VALIDATION_FAILED', `spec_path ${specPath} does not exist in the project`, {
      hint: 'check the path (relative to the project directory); nothing was read',
      details: { spec_path: specPath },
    });
  }
  if (real !== root && !real.startsWith(root + sep)) throw outside(); // a symbolic link out of the project
  const info = await lstat(real);
  if (!info.isFile()) throw validationFailed(`spec_path ${specPath} is not a file`, { spec_path: specPath });
  if (info.size > MAX_SPEC_BYTES) {
    throw new LoomError('VALIDATION_FAILED', `spec_path ${specPath} is ${info.size} bytes; a spec read for decomposition is at most ${MAX_SPEC_BYTES}`, {
      hint: 'decompose a shorter spec (a summary, or one part at a time under epics); nothing was read',
      details: { spec_path: specPath, bytes: info.size, limit: MAX_SPEC_BYTES },
    });
  }
  const text = await readFile(real, 'utf8');
  if (text.includes('\u0000')) throw validationFailed(`spec_path ${specPath} is not a text file`, { spec_path: specPath });
  return text;
}

const SKIP_DIRS = new Set(['node_modules', 'dist', 'build', 'coverage', 'target', 'vendor', '__pycache__']);

/** A short summary of the project's file tree: directories to depth 3 with their file counts, hidden and build folders left out. */
export async function fileTreeSummary(projectDir: string): Promise<string> {
  const lines: string[] = [];
  let truncated = false;
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    const files = entries.filter((e) => e.isFile() && !e.name.startsWith('.'));
    const dirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.') && !SKIP_DIRS.has(e.name));
    const indent = '  '.repeat(depth);
    if (depth === 0 || depth === 1) {
      for (const f of files.slice(0, 20)) if (lines.length < MAX_TREE_LINES) lines.push(`${indent}${f.name}`);
      if (files.length > 20) lines.push(`${indent}… ${files.length - 20} more files`);
    }
    for (const d of dirs) {
      if (lines.length >= MAX_TREE_LINES) {
        truncated = true;
        return;
      }
      const path = join(dir, d.name);
      const count = (await readdir(path, { withFileTypes: true }).catch(() => [])).filter((e) => e.isFile()).length;
      lines.push(`${indent}${d.name}/ (${count} file${count === 1 ? '' : 's'})`);
      if (depth < 2) await walk(path, depth + 1);
    }
  };
  await walk(projectDir, 0);
  if (truncated) lines.push(`… cut at ${MAX_TREE_LINES} lines`);
  return lines.join('\n');
}

const originOf = (input: DecomposeInput): Origin =>
  input.agent_id === undefined ? { kind: 'decompose', id: 'loom' } : { kind: 'agent', id: input.agent_id };

async function readEpic(d: UseCaseDeps, projectId: string, epicId: string): Promise<Task> {
  const epic = await d.store.getTask(projectId, epicId);
  if (epic === null) throw taskNotFound(epicId);
  if (epic.status !== 'epic') {
    throw new LoomError('VALIDATION_FAILED', `${epicId} is ${epic.status === 'done' ? 'a completed epic' : 'not an epic'}: only an open epic can be broken down`, {
      hint: 'decompose into a new epic with goal instead, or pick an open epic (loom graph shows them). Nothing was written',
      details: { epic_id: epicId, status: epic.status },
    });
  }
  return epic;
}

/** The project's directory, for this project only: a server serving other projects has no files of theirs. */
function projectDirFor(d: DecomposeDeps, project: Project, field: string): string {
  if (d.projectDir === undefined || d.projectDir === null) {
    throw new LoomError('VALIDATION_FAILED', `${field} needs the project's directory, and this Loom service has none`, {
      hint: field === 'spec_path' ? 'pass the spec text as goal instead. Nothing was read' : 'leave include_file_tree out. Nothing was read',
      details: { field },
    });
  }
  if (d.projectDirOf !== undefined && d.projectDirOf !== null && d.projectDirOf !== project.id) {
    throw new LoomError('VALIDATION_FAILED', `${field} reads the project's directory, and this server holds the files of project ${d.projectDirOf}, not ${project.id}`, {
      hint: field === 'spec_path' ? 'pass the spec text as goal instead (or run loom on that project\'s own directory). Nothing was read' : 'leave include_file_tree out. Nothing was read',
      details: { field, project_id: project.id },
    });
  }
  return d.projectDir;
}

/** One loom_decompose call: the skill to plan with, a dry run, or the write. */
export async function decompose(d: DecomposeDeps, project: Project, input: DecomposeInput): Promise<DecomposeResult> {
  const kind = target(input);
  if (input.plan === undefined) {
    if (input.apply === true || input.plan_hash !== undefined) {
      throw validationFailed('apply and plan_hash go with a plan: send the plan you dry-ran', { field: 'plan' });
    }
    return promptForPlan(d, project, input, kind);
  }
  validatePlanSchema(input.plan);
  const plan = normalizePlan(input.plan);
  checkPlanContexts('decompose', plan.tasks, d.settings.max_context_bytes);
  const allowFlat = input.allow_flat === true;
  const shape = checkPlan(plan, { allow_flat: allowFlat });
  const parentId = input.epic_id ?? null;
  const hash = planHash(plan, parentId, allowFlat);
  if (input.apply !== true) return dryRun(d, project, input, plan, shape, hash);
  if (input.plan_hash === undefined) {
    throw new LoomError('VALIDATION_FAILED', 'apply: true needs the plan_hash of a dry run of this plan', {
      hint: 'send the plan without apply first, read the dry run, then send it again with apply: true and the plan_hash it returned. Nothing was written',
      details: { field: 'plan_hash' },
    });
  }
  if (input.plan_hash !== hash) {
    throw new LoomError('PLAN_STALE', 'plan_hash does not match this plan: it changed since the dry run that gave the hash (or the parent or allow_flat did)', {
      hint: 'dry-run this plan again (the same call without apply) and apply with the plan_hash it returns. Nothing was written',
      details: { given: input.plan_hash, expected_for_this_plan: hash },
    });
  }
  if (kind === 'spec') await readSpec(projectDirFor(d, project, 'spec_path'), input.spec_path!); // the path is checked on apply too
  return applyPlan(d, project, input, plan, shape, hash);
}

async function promptForPlan(d: DecomposeDeps, project: Project, input: DecomposeInput, kind: 'goal' | 'spec' | 'epic'): Promise<DecomposePrompt> {
  const skill = await d.skills.get('decompose_project');
  const epic = kind === 'epic' ? await readEpic(d, project.id, input.epic_id!) : null;
  let goal: string;
  if (kind === 'goal') goal = input.goal!;
  else if (kind === 'spec') goal = `The spec ${input.spec_path}:\n\n${await readSpec(projectDirFor(d, project, 'spec_path'), input.spec_path!)}`;
  else goal = `Break down the epic ${epic!.id}: ${epic!.title}${epic!.done_when === null ? '' : `\nDone when: ${epic!.done_when}`}`;
  const open = await openTaskLines(d, project.id);
  const args: Record<string, string> = { goal };
  if (open !== '') args.open_tasks = open;
  if (input.constraints !== undefined) args.constraints = input.constraints;
  if (input.include_file_tree === true) {
    args.file_tree = await fileTreeSummary(projectDirFor(d, project, 'include_file_tree'));
  }
  const declared = new Set(skill.arguments.map((a) => a.name));
  for (const k of Object.keys(args)) if (!declared.has(k)) delete args[k]; // a project's own decompose_project may take fewer
  const vars = await skillVariables(d, project, null);
  if (epic !== null) vars.epic = { id: epic.id, title: epic.title, context: epic.context, done_when: epic.done_when };
  const text = renderSkillText(skill, resolveArguments(skill, args), vars);
  const where = kind === 'goal' ? 'goal: <the same goal>' : kind === 'spec' ? `spec_path: '${input.spec_path}'` : `epic_id: '${input.epic_id}'`;
  return {
    stage: 'plan_needed',
    skill: { name: skill.name, source: skill.source, version: skill.version, content_hash: skill.content_hash, text },
    plan_schema: decompositionPlanSchema(),
    next: `Write a plan as the skill says (it must match plan_schema), then call loom_decompose {${where}, plan: <the plan>} for a dry run; nothing is written until you call it again with apply: true and the plan_hash of that dry run.`,
  };
}

async function openTaskLines(d: UseCaseDeps, projectId: string): Promise<string> {
  const nodes = await d.store.graphNodes(projectId);
  const open = nodes.filter((n) => n.status === 'pending' || n.status === 'blocked' || n.status === 'claimed' || n.status === 'epic');
  open.sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  const shown = open.slice(0, MAX_OPEN_TASKS).map((n) => `- ${n.id} [${n.status}] ${n.title}`);
  if (open.length > MAX_OPEN_TASKS) shown.push(`- … ${open.length - MAX_OPEN_TASKS} older open tasks not listed`);
  return shown.join('\n');
}

function taskViews(plan: Plan, shape: PlanShape): PlannedTaskView[] {
  return plan.tasks.map((t) => ({
    key: t.key,
    title: t.title,
    priority: t.priority,
    depends_on: [...t.depends_on],
    done_when: t.done_when,
    skill: t.skill,
    wave: shape.wave.get(t.key)!,
  }));
}

async function dryRun(d: DecomposeDeps, project: Project, input: DecomposeInput, plan: Plan, shape: PlanShape, hash: string): Promise<DecomposeDryRun> {
  if (input.spec_path !== undefined) await readSpec(projectDirFor(d, project, 'spec_path'), input.spec_path);
  const parent = input.epic_id === undefined ? null : await readEpic(d, project.id, input.epic_id);
  // Checked again under the graph lock on apply; here a consistent read is enough.
  await d.store.transaction(async (tx) => {
    const found = await tx.getTasks(project.id, shape.external);
    const waits = parent === null ? new Map<string, string[]>() : await tx.reachableDependencies(project.id, shape.external);
    checkAgainstGraph(shape, new Set(found.map((t) => t.id)), parent?.id ?? null, waits);
  });
  const where = input.goal !== undefined ? 'goal: <the same goal>' : input.spec_path !== undefined ? `spec_path: '${input.spec_path}'` : `epic_id: '${input.epic_id}'`;
  return {
    stage: 'dry_run',
    title: plan.title,
    parent: parent === null ? { new_epic: plan.title } : { epic_id: parent.id },
    tasks: taskViews(plan, shape),
    edges: shape.edges,
    waves: shape.waves,
    critical_path: shape.critical_path,
    critical_path_length: shape.critical_path.length,
    warnings: shape.warnings,
    counts: { tasks: plan.tasks.length, edges: shape.edges.length, existing_dependencies: shape.external.length },
    plan_hash: hash,
    next: `Nothing was written. Read the waves and the warnings; fix the plan and dry-run again if needed. To write it: loom_decompose {${where}, plan: <the same plan>${input.allow_flat === true ? ', allow_flat: true' : ''}, apply: true, plan_hash: '${hash}'}.`,
  };
}

async function applyPlan(d: DecomposeDeps, project: Project, input: DecomposeInput, plan: Plan, shape: PlanShape, hash: string): Promise<DecomposeApplied> {
  const p = project.id;
  const parentKey = input.epic_id ?? '';
  for (let attempt = 0; attempt < ID_ATTEMPTS; attempt++) {
    const now = d.clock.now();
    const origin = originOf(input);
    const result = await d.store.transaction(async (tx) => {
      // Edges change only under the graph lock; it also makes two processes applying one plan take turns.
      await tx.lockGraph(p);
      const earlier = await tx.findDecomposition(p, parentKey, hash);
      if (earlier !== null) return { applied: earlier, created: false, events: [] };
      return write(d, tx, { project, input, plan, shape, hash, now, origin, parentKey });
    });
    if (result === null) continue; // an id was taken: draw new ones
    d.bus.publish(result.events);
    return {
      stage: 'applied',
      epic_id: result.applied.epic_id,
      created: result.created,
      // In plan order (the stored map comes back from jsonb with its keys sorted).
      tasks: Object.fromEntries(plan.tasks.map((t) => [t.key, result.applied.task_ids[t.key]!])),
      counts: { tasks: Object.keys(result.applied.task_ids).length, edges: result.applied.edges },
      waves: shape.waves,
      plan_hash: hash,
    };
  }
  throw new LoomError('INTERNAL', 'could not allocate task ids for the plan', { hint: 'try again' });
}

async function write(d: DecomposeDeps, tx: TaskStoreTx, w: WriteInput) {
  const p = w.project.id;
  const source = w.input.goal !== undefined ? { goal: w.input.goal } : { spec_path: w.input.spec_path! };
  const written = await writePlan(d, tx, {
    project_id: p,
    plan: w.plan,
    shape: w.shape,
    parent: w.input.epic_id !== undefined ? { epic_id: w.input.epic_id } : { title: w.plan.title, context: { ...source, plan_hash: w.hash } },
    origin: w.origin,
    now: w.now,
  });
  if (written === null) return null;
  const { epic_id, task_ids, edges, events } = written;
  await tx.insertDecomposition({ project_id: p, parent_id: w.parentKey, plan_hash: w.hash, epic_id, task_ids, edges, at: w.now });
  events.push({
    type: 'project.decomposed' as const,
    task_id: epic_id,
    agent_id: w.input.agent_id ?? null,
    payload: {
      epic_id,
      new_epic: w.input.epic_id === undefined,
      title: w.plan.title,
      source: w.input.goal !== undefined ? 'goal' : w.input.spec_path !== undefined ? 'spec' : 'epic',
      plan_hash: w.hash,
      tasks: w.plan.tasks.length,
      edges: w.shape.edges.length,
      existing_dependencies: w.shape.external.length,
      waves: w.shape.waves.length,
      critical_path_length: w.shape.critical_path.length,
    },
  });
  const appended = await tx.appendEvents(p, events, w.now);
  return { applied: { epic_id, task_ids, edges }, created: true, events: appended };
}

interface WriteInput {
  project: Project;
  input: DecomposeInput;
  plan: Plan;
  shape: PlanShape;
  hash: string;
  now: Date;
  origin: Origin;
  parentKey: string;
}
