import { basename } from 'node:path';
import type { Template } from 'liquidjs';
import { LoomError } from '../../domain/errors.js';
import { MAX_PLAN_TASKS, type Plan, type PlannedTask } from '../../domain/plan.js';
import type { JsonObject } from '../../domain/task.js';
import { liquid } from '../skills/skill-file.js';
import { ConditionError, type CompiledCondition } from './conditions.js';
import { MAX_FAN_OUT, type Workflow, type WorkflowInput, type WorkflowStep } from './workflow-file.js';

/** How deep `uses` may nest. */
export const MAX_USES_DEPTH = 8;

/** A workflow's steps made into a plan for one run: the tasks, and what became of each step. */
export interface ExpandedRun {
  title: string;
  plan: Plan;
  /** The inputs as the run uses them (defaults filled in, text read by type). */
  inputs: Record<string, unknown>;
  /** Step path (`tests`, `tests/lint` for a used workflow's step) -> the plan keys of its tasks. */
  steps: Record<string, string[]>;
  /** Steps left out: a false `when`, or a `for_each` over an empty list. Their dependents wait for what they waited for. */
  skipped: Array<{ step: string; reason: string }>;
}

export type WorkflowLookup = (name: string) => Promise<Workflow>;

/** Where a workflow's file is, as shown: a builtin's path inside the installed package says nothing useful. */
export const shownPath = (wf: Pick<Workflow, 'source' | 'path'>): string => (wf.source === 'builtin' ? `builtin/${basename(wf.path)}` : wf.path);

const problem = (wf: Workflow, step: WorkflowStep | null, message: string, hint: string, details: Record<string, unknown> = {}): LoomError =>
  new LoomError('VALIDATION_FAILED', `${wf.name}${step === null ? '' : `, step ${step.id}`} (${shownPath(wf)}${step === null ? '' : `:${step.line}`}): ${message}`, {
    hint: `${hint}. Nothing was written`,
    details: { workflow: wf.name, file: shownPath(wf), ...(step === null ? {} : { step: step.id, line: step.line }), ...details },
  });

function typeName(v: unknown): string {
  return Array.isArray(v) ? 'a list' : v === null ? 'null' : `a ${typeof v}`;
}

/** A value given as text (the CLI's --input k=v) read as the input's type; other values are checked as they are. */
function coerce(input: WorkflowInput, v: unknown): unknown {
  if (typeof v !== 'string' || input.type === 'string') return v;
  const t = v.trim();
  if (input.type === 'number' && t !== '' && Number.isFinite(Number(t))) return Number(t);
  if (input.type === 'boolean' && (t === 'true' || t === 'false')) return t === 'true';
  if (input.type === 'list') {
    if (t.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(t);
        if (Array.isArray(parsed)) return parsed;
      } catch {
        // not JSON: read as a comma-separated list below
      }
    }
    return t === '' ? [] : t.split(',').map((x) => x.trim());
  }
  return v;
}

/** Checks the given inputs against the workflow's: unknown, missing and wrongly typed ones are refused, defaults filled in. */
export function resolveInputs(wf: Workflow, given: Record<string, unknown>): Record<string, unknown> {
  const declared = new Map(wf.inputs.map((i) => [i.name, i]));
  for (const name of Object.keys(given)) {
    if (!declared.has(name)) {
      throw problem(wf, null, `it has no input "${name.slice(0, 64)}"`, wf.inputs.length === 0 ? `${wf.name} takes no inputs` : `its inputs are: ${wf.inputs.map((i) => i.name).join(', ')}`, {
        input: name.slice(0, 64),
      });
    }
  }
  const out: Record<string, unknown> = {};
  for (const i of wf.inputs) {
    const has = Object.prototype.hasOwnProperty.call(given, i.name);
    if (!has && i.default === undefined) {
      if (i.required) throw problem(wf, null, `the input "${i.name}" is required${i.description === undefined ? '' : ` (${i.description})`}`, `pass it: --input ${i.name}=... (MCP: inputs.${i.name})`, { input: i.name });
      continue;
    }
    const v = has ? coerce(i, given[i.name]) : i.default;
    const ok = i.type === 'list' ? Array.isArray(v) : i.type === 'number' ? typeof v === 'number' && Number.isFinite(v) : typeof v === i.type;
    if (!ok) throw problem(wf, null, `the input "${i.name}" must be a ${i.type}, got ${typeName(v)}`, `give ${i.name} as a ${i.type}${i.type === 'list' ? ' (a JSON array, or comma-separated text)' : ''}`, { input: i.name });
    if (i.enum !== undefined && !i.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) {
      throw problem(wf, null, `the input "${i.name}" must be one of ${i.enum.map((e) => JSON.stringify(e)).join(', ')}`, `pick one of the allowed values`, { input: i.name });
    }
    out[i.name] = v;
  }
  return out;
}

function render(templates: Template[], scope: Record<string, unknown>): string {
  return liquid.renderSync(templates, scope) as string;
}

function renderTree(value: unknown, scope: Record<string, unknown>): unknown {
  if (Array.isArray(value)) return value.map((v) => renderTree(v, scope));
  if (value !== null && typeof value === 'object') {
    const t = (value as { $template?: Template[] }).$template;
    if (t !== undefined) return render(t, scope);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderTree(v, scope)]));
  }
  return value;
}

function decide(wf: Workflow, step: WorkflowStep, c: CompiledCondition, field: string, inputs: Record<string, unknown>): unknown {
  // Only conditions on inputs come here: those on earlier outputs are decided when their step is released.
  try {
    return c.evaluate({ inputs });
  } catch (e) {
    throw problem(wf, step, `its ${field} (${c.source}) cannot be evaluated: ${e instanceof ConditionError ? e.message : String(e)}`, 'check the expression against the inputs given');
  }
}

interface Level {
  wf: Workflow;
  inputs: Record<string, unknown>;
  /** Key prefix of this level's tasks ('' at the top). */
  prefix: string;
  /** Step path prefix ('' at the top). */
  path: string;
  /** What the level's first steps wait for (the `uses` step's dependencies). */
  entry: string[];
  chain: string[];
}

/**
 * Expands a workflow for one run: inputs checked, `when` decided, `for_each`
 * fanned out, `uses` included as sub-graphs, every template rendered. The
 * result is a plan whose keys are step ids (`impl-2` for a fan-out's second
 * task, `tests-lint` for step lint of the workflow used by step tests).
 */
export async function expandWorkflow(
  wf: Workflow,
  given: Record<string, unknown>,
  lookup: WorkflowLookup,
  /** The skills there are: a step naming another is refused (when given). */
  skills?: ReadonlySet<string>,
): Promise<ExpandedRun> {
  const inputs = resolveInputs(wf, given);
  const run: ExpandedRun = { title: render(wf.title, { inputs, workflow: wf.name }).trim() || wf.name, plan: { title: '', tasks: [] }, inputs, steps: {}, skipped: [] };
  run.plan.title = run.title.slice(0, 500);
  await expandLevel({ wf, inputs, prefix: '', path: '', entry: [], chain: [wf.name] }, run, lookup, skills);
  return run;
}

/** Expands one workflow's steps; returns its exits (the keys its dependents wait for). */
async function expandLevel(level: Level, run: ExpandedRun, lookup: WorkflowLookup, skills: ReadonlySet<string> | undefined): Promise<string[]> {
  const { wf, inputs } = level;
  const exits = new Map<string, string[]>();
  const dependedOn = new Set(wf.steps.flatMap((s) => s.depends_on));
  const order = topological(wf.steps);
  for (const step of order) {
    const waits = step.depends_on.length === 0 ? level.entry : [...new Set(step.depends_on.flatMap((d) => exits.get(d) ?? []))];
    const path = `${level.path}${step.id}`;
    const key = `${level.prefix}${step.id}`;
    // A condition on earlier steps' outputs is decided when the step's dependencies are done (see propagation.ts).
    const gate = step.when !== undefined && step.when.uses.has('outputs') ? { condition: step.when.source, level: level.path, inputs: inputs as JsonObject } : null;
    const go = step.when === undefined || gate !== null ? true : decide(wf, step, step.when, 'when', inputs);
    if (typeof go !== 'boolean') {
      // Not "false": a condition that gives text or a number is a mistake, not a reason to drop the step silently.
      throw problem(wf, step, `its when (${step.when!.source}) gives ${typeName(go)}, not true or false`, 'write a condition that gives a boolean, e.g. inputs.docs == true or has(inputs.notes)');
    }
    if (!go) {
      run.skipped.push({ step: path, reason: `when ${step.when!.source} is false` });
      exits.set(step.id, waits);
      run.steps[path] = [];
      continue;
    }
    if (step.uses !== undefined) {
      if (level.chain.includes(step.uses)) {
        throw problem(wf, step, `uses recurses: ${[...level.chain, step.uses].join(' -> ')}`, 'a workflow cannot include itself, directly or through others');
      }
      if (level.chain.length >= MAX_USES_DEPTH) throw problem(wf, step, `uses nests deeper than ${MAX_USES_DEPTH} workflows`, 'flatten the composition');
      let sub: Workflow;
      try {
        sub = await lookup(step.uses);
      } catch (e) {
        throw problem(wf, step, `uses ${step.uses}: ${(e as Error).message}`, 'name an existing workflow (loom workflow list)');
      }
      const subInputs = renderTree(step.with, { inputs, workflow: wf.name }) as Record<string, unknown>;
      let resolved: Record<string, unknown>;
      try {
        resolved = resolveInputs(sub, subInputs);
      } catch (e) {
        throw problem(wf, step, `uses ${step.uses}: ${(e as Error).message}`, `give ${step.uses} its inputs under "with"`);
      }
      const out = await expandLevel({ wf: sub, inputs: resolved, prefix: `${key}-`, path: `${path}/`, entry: waits, chain: [...level.chain, sub.name] }, run, lookup, skills);
      run.steps[path] = Object.entries(run.steps)
        .filter(([p]) => p.startsWith(`${path}/`))
        .flatMap(([, keys]) => keys);
      exits.set(step.id, out);
      continue;
    }
    if (step.skill !== undefined && skills !== undefined && !skills.has(step.skill)) {
      // An error, not a warning: its tasks would point agents at a skill they cannot get (a plugin not installed?).
      throw new LoomError('SKILL_NOT_FOUND', `${wf.name}, step ${step.id} (${shownPath(wf)}:${step.line}): no skill named ${step.skill}`, {
        hint: `install the plugin or add the skill (loom skills new ${step.skill.includes('/') ? 'NAME' : step.skill}), or change the step's skill; loom skills list shows them. Nothing was written`,
        details: { workflow: wf.name, file: shownPath(wf), step: step.id, line: step.line, skill: step.skill },
      });
    }
    if (step.for_each !== undefined && step.for_each.uses.has('outputs')) {
      if (waits.length === 0) {
        throw problem(wf, step, `for_each ${step.for_each.source} reads the outputs of steps that were all skipped for these inputs`, 'check the when conditions of the steps it reads');
      }
      // Fans out when its dependencies are done (propagation.ts): one task now stands for the step,
      // carrying what the fan-out needs; what it waits for completes under the graph lock.
      const placeholder: PlannedTask = {
        key,
        title: `${step.id}: one task per item of ${step.for_each.source} (made when the steps before it are done)`.slice(0, 500),
        done_when: null,
        depends_on: waits,
        priority: step.priority ?? 'p1',
        context: {
          workflow: wf.name,
          step: path,
          workflow_for_each: {
            list: step.for_each.source,
            level: level.path,
            inputs: inputs as JsonObject,
            title: step.raw.title ?? step.id,
            ...(step.raw.done_when === undefined ? {} : { done_when: step.raw.done_when }),
            context: step.raw.context as JsonObject,
            ...(step.skill === undefined ? {} : { skill: step.skill }),
            ...(step.max_attempts === undefined ? {} : { max_attempts: step.max_attempts }),
          },
          ...(gate === null ? {} : { workflow_when: gate }),
        },
        skill: null,
      };
      for (const t of run.plan.tasks) if (waits.includes(t.key)) t.context = { ...t.context, workflow_graph_lock: true };
      run.plan.tasks.push(placeholder);
      run.steps[path] = [key];
      exits.set(step.id, [key]);
      continue;
    }
    let items: Array<{ item: unknown; index: number } | null> = [null];
    if (step.for_each !== undefined) {
      const list = decide(wf, step, step.for_each, 'for_each', inputs);
      if (!Array.isArray(list)) throw problem(wf, step, `for_each ${step.for_each.source} gives ${typeName(list)}, not a list`, 'for_each must give a list (e.g. inputs.modules)');
      if (list.length > MAX_FAN_OUT) throw problem(wf, step, `for_each gives ${list.length} items; one step fans out to at most ${MAX_FAN_OUT}`, 'split the list across runs', { items: list.length, limit: MAX_FAN_OUT });
      if (list.length === 0) {
        run.skipped.push({ step: path, reason: `for_each ${step.for_each.source} is empty` });
        exits.set(step.id, waits);
        run.steps[path] = [];
        continue;
      }
      items = list.map((item, index) => ({ item, index }));
    }
    const keys: string[] = [];
    for (const it of items) {
      const scope: Record<string, unknown> = { inputs, workflow: wf.name, ...(it === null ? {} : { item: it.item, index: it.index }) };
      const k = it === null ? key : `${key}-${it.index + 1}`;
      const context = renderTree(step.context, scope) as JsonObject;
      const task: PlannedTask = {
        key: k,
        title: render(step.title!, scope).trim().slice(0, 500) || step.id,
        done_when: step.done_when === undefined ? null : render(step.done_when, scope).trim().slice(0, 5000) || null,
        depends_on: waits,
        priority: step.priority ?? 'p1',
        context: {
          ...context,
          workflow: wf.name,
          step: path,
          ...(it === null ? {} : { item: it.item as JsonObject[keyof JsonObject] }),
          ...(gate === null ? {} : { workflow_when: gate }),
          ...(step.loop === undefined
            ? {}
            : { workflow_loop: { until: step.loop.until.source, max_rounds: step.loop.max_rounds, repeat: step.loop.repeat.map((r) => `${level.path}${r}`) } }),
        },
        skill: step.skill ?? null,
        ...(step.max_attempts === undefined ? {} : { max_attempts: step.max_attempts }),
      };
      run.plan.tasks.push(task);
      keys.push(k);
      if (run.plan.tasks.length > MAX_PLAN_TASKS) {
        throw problem(level.wf, step, `the run would have more than ${MAX_PLAN_TASKS} tasks`, 'split the work across runs', { limit: MAX_PLAN_TASKS });
      }
    }
    run.steps[path] = keys;
    exits.set(step.id, keys);
  }
  // The level is finished when its last steps are: those no other step of it waits for.
  return [...new Set(wf.steps.filter((s) => !dependedOn.has(s.id)).flatMap((s) => exits.get(s.id) ?? []))];
}

/** Steps in an order where each comes after what it depends on (the file's order where free; acyclic, checked at load). */
function topological(steps: readonly WorkflowStep[]): WorkflowStep[] {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const done = new Set<string>();
  const out: WorkflowStep[] = [];
  const visit = (s: WorkflowStep): void => {
    if (done.has(s.id)) return;
    done.add(s.id);
    for (const d of s.depends_on) visit(byId.get(d)!);
    out.push(s);
  };
  for (const s of steps) visit(s);
  return out;
}
