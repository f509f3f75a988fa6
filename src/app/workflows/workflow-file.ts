import { createHash } from 'node:crypto';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { newAjv } from '../lazy-ajv.js';
import * as yaml from 'js-yaml';
import type { Template } from 'liquidjs';
import { PRIORITIES, type Priority } from '../../domain/task.js';
import type { SkillFile } from '../../ports/skill-source.js';
import { fileText, liquid, liquidReason, SKILL_NAME_PATTERN, SKILL_REF_PATTERN } from '../skills/skill-file.js';
import { compileCondition, ConditionError, type CompiledCondition } from './conditions.js';

/**
 * A workflow file: YAML (safe schema) validated with ajv, its templates
 * parsed with the skills' sandboxed liquid engine and its conditions
 * compiled as CEL, all when it loads. Every problem names the file, a line
 * and the path inside the document; a broken file is skipped by the registry.
 */

export const MAX_WORKFLOW_FILE_BYTES = 256 * 1024;
/** Steps of one file; `for_each` and `uses` multiply them up to the plan limit (2,000 tasks). */
export const MAX_WORKFLOW_STEPS = 200;
/** Tasks one `for_each` step may fan out to. */
export const MAX_FAN_OUT = 1000;
/** A step id: a CEL identifier too (`outputs.review.approved`), so no dashes. */
export const STEP_ID_PATTERN = '^[a-z][a-z0-9_]{0,47}$';
export const INPUT_NAME_PATTERN = '^[a-z][a-z0-9_]{0,63}$';
export const INPUT_TYPES = ['string', 'number', 'boolean', 'list'] as const;
export type InputType = (typeof INPUT_TYPES)[number];
/** What templates may name: the inputs, and in a `for_each` step the item and its index. */
export const TEMPLATE_VARIABLES = ['inputs', 'item', 'index', 'workflow'] as const;

export interface WorkflowInput {
  name: string;
  type: InputType;
  description?: string;
  required: boolean;
  default?: unknown;
  enum?: unknown[];
}

export interface WorkflowStep {
  id: string;
  line: number;
  title?: Template[];
  title_source?: string;
  done_when?: Template[];
  /** The step's context with every string a template. */
  context: unknown;
  skill?: string;
  depends_on: string[];
  priority?: Priority;
  max_attempts?: number;
  when?: CompiledCondition;
  for_each?: CompiledCondition;
  uses?: string;
  with: Record<string, unknown>;
  loop?: { until: CompiledCondition; max_rounds: number; repeat: string[] };
  /** The step's fields as written (a fan-out over earlier outputs renders them when it fans out, from its task). */
  raw: { title?: string; done_when?: string; context: unknown };
}

export interface Workflow {
  name: string;
  description: string;
  version: string;
  title: Template[];
  inputs: WorkflowInput[];
  steps: WorkflowStep[];
  source: string;
  path: string;
  content_hash: string;
  text: string;
}

export interface WorkflowProblem {
  file: string;
  line: number;
  reason: string;
}

export type ParsedWorkflow = { ok: true; workflow: Workflow } | { ok: false; problem: WorkflowProblem };

const text = (max: number) => ({ type: 'string', minLength: 1, maxLength: max }) as const;
const stepId = { type: 'string', pattern: STEP_ID_PATTERN } as const;
const stepIds = { type: 'array', items: stepId, uniqueItems: true, maxItems: MAX_WORKFLOW_STEPS } as const;

export const WORKFLOW_SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', pattern: SKILL_NAME_PATTERN },
    description: { type: 'string', minLength: 1, maxLength: 300, pattern: '^[^\\n]*$' },
    version: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?$' },
    title: text(500),
    inputs: {
      type: 'object',
      maxProperties: 50,
      propertyNames: { pattern: INPUT_NAME_PATTERN },
      additionalProperties: {
        type: 'object',
        properties: {
          type: { enum: [...INPUT_TYPES] },
          description: { type: 'string', maxLength: 1000 },
          required: { type: 'boolean' },
          default: {},
          enum: { type: 'array', minItems: 1, maxItems: 100 },
        },
        required: ['type'],
        additionalProperties: false,
      },
    },
    steps: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_WORKFLOW_STEPS,
      items: {
        type: 'object',
        properties: {
          id: stepId,
          title: text(500),
          context: { type: 'object' },
          skill: { type: 'string', pattern: SKILL_REF_PATTERN },
          depends_on: stepIds,
          priority: { enum: [...PRIORITIES] },
          done_when: text(5000),
          max_attempts: { type: 'integer', minimum: 1, maximum: 20 },
          when: text(2000),
          for_each: text(2000),
          uses: { type: 'string', pattern: SKILL_REF_PATTERN },
          with: { type: 'object', maxProperties: 50, propertyNames: { pattern: INPUT_NAME_PATTERN } },
          loop: {
            type: 'object',
            properties: { until: text(2000), max_rounds: { type: 'integer', minimum: 1, maximum: 10 }, repeat: { ...stepIds, minItems: 1 } },
            required: ['until', 'max_rounds', 'repeat'],
            additionalProperties: false,
          },
        },
        required: ['id'],
        additionalProperties: false,
      },
    },
  },
  required: ['name', 'description', 'version', 'steps'],
  additionalProperties: false,
} as const;

let validate: ValidateFunction | undefined;

/** The file line of `- id: <step>` (1-based), and of a key below it when given. */
export function stepLine(lines: readonly string[], step: string | undefined, key?: string): number {
  let from = 0;
  if (step !== undefined) {
    const at = lines.findIndex((l) => new RegExp(`^\\s*(-\\s+)?id:\\s*['"]?${step}['"]?\\s*(#.*)?$`).test(l));
    if (at >= 0) from = at;
  }
  if (key !== undefined) {
    const indent = step === undefined ? '' : '\\s*';
    for (let i = from; i < lines.length; i++) {
      if (i > from && step !== undefined && /^\s*-\s+id:/.test(lines[i]!)) break;
      if (new RegExp(`^${indent}(-\\s+)?${key}:`).test(lines[i]!)) return i + 1;
    }
  }
  return from + 1;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The file line of input `name` (its `  name:` below `inputs:`), and of a key
 * below it when given; the line after `inputs:` when it cannot be found.
 */
export function inputLine(lines: readonly string[], name: string, key?: string): number {
  const inputs = stepLine(lines, undefined, 'inputs');
  const first = lines.slice(inputs).find((l) => /^\s+[^\s#]/.test(l));
  const indent = /^(\s+)/.exec(first ?? '')?.[1] ?? '  ';
  const at = lines.findIndex((l, n) => n >= inputs && new RegExp(`^${indent}['"]?${escapeRe(name)}['"]?\\s*:`).test(l));
  if (at < 0) return inputs + 1;
  if (key !== undefined) {
    for (let i = at + 1; i < lines.length && !new RegExp(`^(${indent})?\\S`).test(lines[i]!); i++) {
      if (new RegExp(`^\\s+${escapeRe(key)}:`).test(lines[i]!)) return i + 1;
    }
  }
  return at + 1;
}

function schemaProblem(e: ErrorObject, doc: unknown, lines: readonly string[]): { line: number; reason: string } {
  const parts = e.instancePath.split('/').slice(1);
  const where = parts.length === 0 ? 'the document' : parts.join('.');
  let step: string | undefined;
  if (parts[0] === 'steps' && parts[1] !== undefined) {
    const s = (doc as { steps?: Array<{ id?: unknown }> }).steps?.[Number(parts[1])];
    if (typeof s?.id === 'string') step = s.id;
  }
  const key = parts[0] === 'steps' ? parts[2] : parts[0] === 'inputs' ? parts[1] : parts[0];
  if (e.propertyName !== undefined) {
    // A bad key of a map (an input's name, a name under `with`): ajv reports it at the map, naming the key.
    const at = parts[0] === 'inputs' ? inputLine(lines, e.propertyName) : stepLine(lines, step, key);
    return { line: at, reason: `${step === undefined ? where : `${where} (step ${step})`}: the name "${e.propertyName}" must match [a-z][a-z0-9_]* (an input name)` };
  }
  const line = parts[0] === 'inputs' && parts[1] !== undefined ? inputLine(lines, parts[1], parts[2]) : stepLine(lines, step, key ?? (e.keyword === 'additionalProperties' ? String(e.params.additionalProperty) : undefined));
  const named = step === undefined ? where : `${where} (step ${step})`;
  if (e.keyword === 'additionalProperties') return { line, reason: `${named}: unknown field "${String(e.params.additionalProperty)}"` };
  if (e.keyword === 'required') return { line, reason: `${named}: missing required field "${String(e.params.missingProperty)}"` };
  if (e.keyword === 'pattern' && /\.id$|depends_on|repeat/.test(where)) return { line, reason: `${named}: a step id matches [a-z][a-z0-9_]* (no dashes: ids are names in conditions too)` };
  if (e.keyword === 'enum') return { line, reason: `${named}: must be one of ${(e.params.allowedValues as unknown[]).join(', ')}` };
  return { line, reason: `${named}: ${e.message ?? 'is invalid'}` };
}

const fail = (file: string, line: number, reason: string): ParsedWorkflow => ({ ok: false, problem: { file, line, reason } });

class Problem extends Error {
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super(reason);
  }
}

function template(source: string, line: number, where: string, allowed: readonly string[]): Template[] {
  let parsed: Template[];
  try {
    parsed = liquid.parse(source);
  } catch (e) {
    throw new Problem(line, `${where}: the template does not parse: ${liquidReason(e)}`);
  }
  let globals: Record<string, unknown>;
  try {
    globals = liquid.analyzeSync(parsed).globals;
  } catch {
    throw new Problem(line, `${where}: a workflow template cannot include files (include, render, layout)`);
  }
  for (const name of Object.keys(globals)) {
    if (!allowed.includes(name)) {
      throw new Problem(line, `${where}: the template uses "${name}"; a workflow template may name ${allowed.join(', ')}`);
    }
  }
  return parsed;
}

/** Every string inside a JSON value, as templates, keeping the shape. */
function templateTree(value: unknown, line: number, where: string, allowed: readonly string[], depth = 0): unknown {
  if (depth > 16) throw new Problem(line, `${where}: nested deeper than 16 levels`);
  if (typeof value === 'string') return value.includes('{{') || value.includes('{%') ? { $template: template(value, line, where, allowed) } : value;
  if (Array.isArray(value)) return value.map((v, i) => templateTree(v, line, `${where}.${i}`, allowed, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === '__proto__' || k === 'constructor' || k === 'prototype') throw new Problem(line, `${where}: the key "${k}" is refused`);
      out[k] = templateTree(v, line, `${where}.${k}`, allowed, depth + 1);
    }
    return out;
  }
  return value;
}

function condition(source: string, line: number, where: string, allowed: readonly string[]): CompiledCondition {
  let c: CompiledCondition;
  try {
    c = compileCondition(source);
  } catch (e) {
    throw new Problem(line, `${where}: ${e instanceof ConditionError ? e.message : String(e)}`);
  }
  for (const v of c.uses) {
    if (!allowed.includes(v)) throw new Problem(line, `${where}: "${v}" cannot be used here; it may name ${allowed.join(', ')}`);
  }
  return c;
}

function typeOk(type: InputType, v: unknown): boolean {
  if (type === 'list') return Array.isArray(v);
  if (type === 'number') return typeof v === 'number' && Number.isFinite(v);
  return typeof v === type;
}

export function parseWorkflowFile(file: SkillFile, namespace?: string): ParsedWorkflow {
  const where = file.path;
  const read = fileText(file, 'workflow', MAX_WORKFLOW_FILE_BYTES);
  if (!read.ok) return read;
  const raw = read.text;
  const lines = raw.split(/\r?\n/);
  let doc: unknown;
  try {
    doc = yaml.load(raw, { schema: yaml.CORE_SCHEMA });
  } catch (e) {
    const mark = (e as { mark?: { line?: number } }).mark;
    return fail(where, (mark?.line ?? 0) + 1, `not valid YAML: ${(e as { reason?: string }).reason ?? String(e)}`);
  }
  validate ??= newAjv({ allErrors: false, strict: true }).compile(WORKFLOW_SCHEMA);
  if (!validate(doc)) {
    const e = validate.errors?.[0];
    if (e === undefined || (e.instancePath === '' && e.keyword === 'type')) return fail(where, 1, 'a workflow is a YAML mapping with name, description, version and steps');
    const p = schemaProblem(e, doc, lines);
    return fail(where, p.line, p.reason);
  }
  const d = doc as {
    name: string;
    description: string;
    version: string;
    title?: string;
    inputs?: Record<string, { type: InputType; description?: string; required?: boolean; default?: unknown; enum?: unknown[] }>;
    steps: Array<Record<string, unknown> & { id: string }>;
  };
  try {
    const inputs: WorkflowInput[] = Object.entries(d.inputs ?? {}).map(([name, i]) => {
      const line = inputLine(lines, name);
      if (i.default !== undefined && !typeOk(i.type, i.default)) throw new Problem(line, `inputs.${name}: the default is not a ${i.type}`);
      if (i.enum !== undefined && i.enum.some((v) => !typeOk(i.type, v))) throw new Problem(line, `inputs.${name}: every enum value must be a ${i.type}`);
      return {
        name,
        type: i.type,
        required: i.required ?? i.default === undefined,
        ...(i.description === undefined ? {} : { description: i.description }),
        ...(i.default === undefined ? {} : { default: i.default }),
        ...(i.enum === undefined ? {} : { enum: i.enum }),
      };
    });
    const ids = new Set<string>();
    for (const s of d.steps) {
      if (ids.has(s.id)) {
        // The second `id: <step>` line: stepLine finds the first.
        const idLine = new RegExp(`^\\s*(-\\s+)?id:\\s*['"]?${s.id}['"]?\\s*(#.*)?$`);
        const second = lines.findIndex((l, n) => n >= stepLine(lines, s.id) && idLine.test(l));
        throw new Problem(second >= 0 ? second + 1 : stepLine(lines, s.id), `steps: the step id ${s.id} is used twice`);
      }
      ids.add(s.id);
    }
    const steps: WorkflowStep[] = d.steps.map((s) => {
      const line = stepLine(lines, s.id);
      const at = (key: string) => stepLine(lines, s.id, key);
      const w = `step ${s.id}`;
      const fanOut = s.for_each !== undefined;
      const vars = fanOut ? TEMPLATE_VARIABLES : TEMPLATE_VARIABLES.filter((v) => v !== 'item' && v !== 'index');
      const depends = (s.depends_on as string[] | undefined) ?? [];
      for (const dep of depends) {
        if (!ids.has(dep)) throw new Problem(at('depends_on'), `${w}: depends_on names ${dep}, which is no step of this workflow (steps: ${[...ids].join(', ')})`);
        if (dep === s.id) throw new Problem(at('depends_on'), `${w}: a step cannot depend on itself`);
      }
      if (s.uses === undefined && s.title === undefined) throw new Problem(line, `${w}: missing required field "title" (only a step with uses may leave it out)`);
      if (s.uses !== undefined) {
        for (const k of ['for_each', 'loop', 'skill', 'context', 'done_when', 'max_attempts']) {
          if (s[k] !== undefined) throw new Problem(at(k), `${w}: a step with uses includes another workflow; "${k}" belongs in that workflow's steps`);
        }
      } else if (s.with !== undefined) {
        throw new Problem(at('with'), `${w}: "with" gives the inputs of a used workflow: it needs uses`);
      }
      const loop = s.loop as { until: string; max_rounds: number; repeat: string[] } | undefined;
      if (loop !== undefined) {
        if (fanOut) throw new Problem(at('loop'), `${w}: a step with for_each cannot loop (each of its tasks would start its own rounds)`);
        const before = upstream(d.steps, s.id);
        for (const r of loop.repeat) {
          if (!ids.has(r)) throw new Problem(at('loop'), `${w}: loop.repeat names ${r}, which is no step of this workflow`);
          if (!before.has(r)) throw new Problem(at('loop'), `${w}: loop.repeat names ${r}, which ${s.id} does not depend on (directly or not): a round repeats work that leads to this step`);
          if (d.steps.find((x) => x.id === r)?.uses !== undefined) throw new Problem(at('loop'), `${w}: loop.repeat names ${r}, a step with uses; repeat the used workflow's own steps instead`);
        }
      }
      const readsUpstream = (c: CompiledCondition | undefined, field: string): void => {
        if (c === undefined || !c.uses.has('outputs')) return;
        if (c.outputSteps === null) throw new Problem(at(field), `${w}.${field}: name the steps whose outputs it reads as outputs.<step> (a computed key cannot be checked)`);
        const before = upstream(d.steps, s.id);
        for (const o of c.outputSteps) {
          if (!before.has(o)) throw new Problem(at(field), `${w}.${field} reads outputs.${o}, but ${s.id} does not depend on ${o} (directly or not): add it to depends_on`);
        }
      };
      const when = s.when === undefined ? undefined : condition(s.when as string, at('when'), `${w}.when`, ['inputs', 'outputs']);
      readsUpstream(when, 'when');
      const forEach = s.for_each === undefined ? undefined : condition(s.for_each as string, at('for_each'), `${w}.for_each`, ['inputs', 'outputs']);
      readsUpstream(forEach, 'for_each');
      if (forEach?.uses.has('outputs') && d.steps.some((x) => ((x.loop as { repeat?: string[] } | undefined)?.repeat ?? []).includes(s.id))) {
        throw new Problem(at('for_each'), `${w}: a fan-out over earlier outputs cannot be repeated by a loop`);
      }
      return {
        id: s.id,
        line,
        ...(s.title === undefined ? {} : { title: template(s.title as string, at('title'), `${w}.title`, vars), title_source: s.title as string }),
        ...(s.done_when === undefined ? {} : { done_when: template(s.done_when as string, at('done_when'), `${w}.done_when`, vars) }),
        context: templateTree(s.context ?? {}, at('context'), `${w}.context`, vars),
        ...(s.skill === undefined ? {} : { skill: s.skill as string }),
        depends_on: depends,
        ...(s.priority === undefined ? {} : { priority: s.priority as Priority }),
        ...(s.max_attempts === undefined ? {} : { max_attempts: s.max_attempts as number }),
        ...(when === undefined ? {} : { when }),
        ...(forEach === undefined ? {} : { for_each: forEach }),
        raw: {
          ...(typeof s.title === 'string' ? { title: s.title } : {}),
          ...(typeof s.done_when === 'string' ? { done_when: s.done_when } : {}),
          context: s.context ?? {},
        },
        ...(s.uses === undefined ? {} : { uses: s.uses as string }),
        with: (templateTree(s.with ?? {}, at('with'), `${w}.with`, vars) as Record<string, unknown>),
        ...(loop === undefined
          ? {}
          : { loop: { until: condition(loop.until, at('loop'), `${w}.loop.until`, ['output', 'outputs', 'inputs', 'round']), max_rounds: loop.max_rounds, repeat: loop.repeat } }),
      };
    });
    const cycle = stepCycle(steps);
    if (cycle !== null) throw new Problem(stepLine(lines, cycle[0]), `steps: dependency cycle ${cycle.join(' -> ')}`);
    return {
      ok: true,
      workflow: {
        name: namespace === undefined ? d.name : `${namespace}/${d.name}`,
        description: d.description,
        version: d.version,
        title: template(d.title ?? '{{ workflow }}', stepLine(lines, undefined, 'title'), 'title', ['inputs', 'workflow']),
        inputs,
        steps,
        source: file.source,
        path: file.path,
        content_hash: createHash('sha256').update(file.text).digest('hex'),
        text: file.text,
      },
    };
  } catch (e) {
    if (e instanceof Problem) return fail(where, e.line, e.message);
    throw e;
  }
}

/** The steps `id` depends on, directly or not (depends_on may name steps not yet checked: unknown ones are skipped). */
function upstream(steps: ReadonlyArray<{ id: string; depends_on?: unknown }>, id: string): Set<string> {
  const deps = new Map(steps.map((s) => [s.id, Array.isArray(s.depends_on) ? (s.depends_on as string[]) : []]));
  const seen = new Set<string>();
  const stack = [...(deps.get(id) ?? [])];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (seen.has(next) || next === id) continue;
    seen.add(next);
    stack.push(...(deps.get(next) ?? []));
  }
  return seen;
}

/** The first cycle among the steps' depends_on, as [a, b, ..., a], or null. */
function stepCycle(steps: readonly WorkflowStep[]): string[] | null {
  const deps = new Map(steps.map((s) => [s.id, s.depends_on]));
  const state = new Map<string, 1 | 2>();
  const path: string[] = [];
  const visit = (id: string): string[] | null => {
    state.set(id, 1);
    path.push(id);
    for (const d of deps.get(id) ?? []) {
      if (state.get(d) === 1) return [...path.slice(path.indexOf(d)), d];
      if (state.get(d) === undefined) {
        const c = visit(d);
        if (c !== null) return c;
      }
    }
    path.pop();
    state.set(id, 2);
    return null;
  };
  for (const s of steps) {
    if (state.get(s.id) !== undefined) continue;
    const c = visit(s.id);
    if (c !== null) return c;
  }
  return null;
}
