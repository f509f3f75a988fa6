import { MAX_BUDGET_USD } from '../domain/budget.js';
import type { ErrorObject } from 'ajv';
import * as compiled from './api-validators.generated.js';
import { LoomError, validationFailed } from '../domain/errors.js';
import { describeErrors } from './describe-errors.js';
import { findUnsafeText } from '../domain/text.js';
import { BATCH_KEY_PATTERN, MAX_BATCH_TASKS } from '../domain/batch.js';
import { GRAPH_FORMATS } from '../domain/graph.js';
import { MAX_LEASE_SECONDS } from '../domain/lease.js';
import { MAX_BATCH } from '../ports/loom-api.js';
import { USAGE_GROUP_BY, MAX_USAGE_COST_USD, MAX_USAGE_MODEL_LENGTH, MAX_USAGE_TOKENS } from '../domain/usage.js';
import { LABEL_PATTERN, MAX_LABELS, PRIORITIES, TASK_STATUSES } from '../domain/task.js';
import { ARGUMENT_NAME_PATTERN, SKILL_REF_PATTERN } from './skills/skill-patterns.js';

/** JSON Schemas of every API input: the edge where untrusted input is checked. */

const taskId = { type: 'string', pattern: '^loom-[0-9a-f]{8}$' } as const;
const projectId = { type: 'string', minLength: 1, maxLength: 100 } as const;
const agentId = { type: 'string', minLength: 1, maxLength: 200 } as const;
const priority = { enum: [...PRIORITIES] } as const;
const jsonObject = { type: 'object' } as const;
const text = (max: number) => ({ type: 'string', minLength: 1, maxLength: max }) as const;
const skillName = { type: 'string', pattern: SKILL_REF_PATTERN } as const;
const labels = { type: 'array', items: { type: 'string', pattern: LABEL_PATTERN }, maxItems: MAX_LABELS, uniqueItems: true } as const;
const labelEdit = { ...labels, minItems: 1 } as const;
/** An absolute path on the machine that serves the API. */
const filePath = { type: 'string', minLength: 2, maxLength: 4096, pattern: '^/' } as const;
/** An ISO 8601 instant with its offset (a JS Date must read it the same everywhere). */
const instant = { type: 'string', maxLength: 40, pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:?\\d{2})$' } as const;
const leaseSeconds = { type: 'integer', minimum: 1, maximum: MAX_LEASE_SECONDS } as const;

const obj = (properties: Record<string, unknown>, required: string[]) => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});

const originSchema = obj({ kind: text(100), id: text(200) }, ['kind', 'id']);
/** A bulk-create item's key, or what its depends_on and parent_id name: a key of the call or a task id. */
const batchRef = { type: 'string', pattern: BATCH_KEY_PATTERN } as const;

/** What a single create takes of a task, and each item of a bulk create; `ref` is what depends_on and parent_id name. */
const taskFields = (ref: object) => ({
  title: text(500),
  context: jsonObject,
  depends_on: { type: 'array', items: ref, maxItems: 1000 },
  priority,
  parent_id: ref,
  done_when: text(5000),
  labels,
  epic: { type: 'boolean' },
  max_attempts: { type: 'integer', minimum: 1, maximum: 100 },
});

const lease = { project_id: projectId, task_id: taskId, agent_id: agentId, lease_token: text(200) };

const tokens = { type: 'integer', minimum: 0, maximum: MAX_USAGE_TOKENS } as const;
/** Usage sent with heartbeat, done and fail (one schema, for every report that carries it): bounded, finite, no extra keys. */
export const USAGE_SCHEMA = obj(
  {
    input_tokens: tokens,
    output_tokens: tokens,
    cache_read_tokens: tokens,
    cost_usd: { type: 'number', minimum: 0, maximum: MAX_USAGE_COST_USD },
    model: text(MAX_USAGE_MODEL_LENGTH),
  },
  ['input_tokens', 'output_tokens'],
);
/** A UTC date, or a date and time with its zone (ISO 8601): `loom costs --since`. */
const dateOrInstant = { type: 'string', maxLength: 40, pattern: '^\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:?\\d{2}))?$' } as const;

/** A batch of single-call inputs: each item is the single call's input without project_id, checked by the same schema. */
function batchOf(single: { properties: Record<string, unknown>; required: string[] }) {
  const { project_id: _, ...item } = single.properties;
  const required = single.required.filter((k) => k !== 'project_id');
  return obj({ project_id: projectId, items: { type: 'array', minItems: 1, maxItems: MAX_BATCH, items: obj(item, required) } }, ['project_id', 'items']);
}

const done = obj({ ...lease, output: jsonObject, usage: USAGE_SCHEMA }, ['project_id', 'task_id', 'agent_id', 'lease_token']);
const fail = obj(
  { ...lease, reason: text(5000), retryable: { type: 'boolean' }, rate_limited: obj({ reset_at: instant }, ['reset_at']), usage: USAGE_SCHEMA },
  ['project_id', 'task_id', 'agent_id', 'lease_token', 'reason'],
);

export const API_SCHEMAS = {
  createProject: obj({ name: text(200), id: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,99}$' } }, ['name']),
  getProject: obj({ project_id: projectId }, ['project_id']),
  projects: obj({}, []),
  removeProject: obj({ project_id: projectId, agent_id: agentId }, ['project_id']),
  createTask: obj({ project_id: projectId, origin: originSchema, ...taskFields(taskId) }, ['project_id', 'title', 'origin']),
  createTasks: obj(
    {
      project_id: projectId,
      origin: originSchema,
      tasks: {
        type: 'array',
        minItems: 1,
        maxItems: MAX_BATCH_TASKS,
        items: obj({ key: batchRef, ...taskFields(batchRef), origin: originSchema }, ['title']),
      },
    },
    ['project_id', 'origin', 'tasks'],
  ),
  updateTask: obj(
    {
      project_id: projectId,
      task_id: taskId,
      title: text(500),
      context: jsonObject,
      priority,
      depends_on: { type: 'array', items: taskId, maxItems: 1000 },
      add_depends_on: { type: 'array', items: taskId, minItems: 1, maxItems: 1000 },
      remove_depends_on: { type: 'array', items: taskId, minItems: 1, maxItems: 1000 },
      done_when: { anyOf: [text(5000), { type: 'null' }] },
      max_attempts: { type: 'integer', minimum: 1, maximum: 100 },
      labels,
      add_labels: labelEdit,
      remove_labels: labelEdit,
    },
    ['project_id', 'task_id'],
  ),
  ready: obj({ project_id: projectId, limit: { type: 'integer', minimum: 1, maximum: 1000 }, priority, labels: labelEdit }, ['project_id']),
  listTasks: obj(
    {
      project_id: projectId,
      statuses: { type: 'array', items: { enum: [...TASK_STATUSES] }, minItems: 1, maxItems: TASK_STATUSES.length, uniqueItems: true },
      search: text(500),
      parent_id: taskId,
      labels: labelEdit,
      held: { type: 'boolean' },
      limit: { type: 'integer', minimum: 1, maximum: 1000 },
    },
    ['project_id'],
  ),
  claim: obj({ project_id: projectId, agent_id: agentId, task_id: taskId, lease_seconds: leaseSeconds }, ['project_id', 'agent_id']),
  heartbeat: obj({ ...lease, lease_seconds: leaseSeconds, progress: text(2000), usage: USAGE_SCHEMA }, ['project_id', 'task_id', 'agent_id', 'lease_token']),
  done,
  fail,
  claimBatch: obj(
    {
      project_id: projectId,
      agent_id: agentId,
      count: { type: 'integer', minimum: 1, maximum: MAX_BATCH },
      agent_ids: { type: 'array', items: agentId, minItems: 1, maxItems: MAX_BATCH, uniqueItems: true },
      lease_seconds: leaseSeconds,
    },
    ['project_id', 'agent_id'],
  ),
  doneBatch: batchOf(done),
  failBatch: batchOf(fail),
  costs: obj(
    { project_id: projectId, by: { enum: [...USAGE_GROUP_BY] }, since: dateOrInstant, limit: { type: 'integer', minimum: 1, maximum: 1000 } },
    ['project_id'],
  ),
  setBudget: obj(
    {
      project_id: projectId,
      epic_id: taskId,
      run_id: { type: 'integer', minimum: 1 },
      // null clears it; the bounds apply to a number only (one clear message, not three of an anyOf)
      budget_usd: { type: ['number', 'null'], exclusiveMinimum: 0, maximum: MAX_BUDGET_USD },
      agent_id: agentId,
    },
    ['project_id', 'budget_usd'],
  ),
  budgets: obj({ project_id: projectId }, ['project_id']),
  escalate: obj({ project_id: projectId, task_id: taskId, message: text(5000), agent_id: agentId }, ['project_id', 'task_id', 'message']),
  cancel: obj({ project_id: projectId, task_id: taskId, reason: text(5000), agent_id: agentId }, ['project_id', 'task_id']),
  hold: obj({ project_id: projectId, task_id: taskId, reason: text(2000), agent_id: agentId }, ['project_id', 'task_id']),
  resume: obj({ project_id: projectId, task_id: taskId, agent_id: agentId }, ['project_id', 'task_id']),
  status: obj({ project_id: projectId, task_id: taskId }, ['project_id', 'task_id']),
  overview: obj({ project_id: projectId }, ['project_id']),
  graph: obj({ project_id: projectId, format: { enum: [...GRAPH_FORMATS] }, epic_id: taskId, expand: { type: 'boolean' } }, ['project_id']),
  events: obj(
    { project_id: projectId, since: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: 10000 }, task_id: taskId },
    ['project_id'],
  ),
  recoverLeases: obj({ project_id: projectId }, ['project_id']),
  reconcile: obj({ project_id: projectId }, ['project_id']),
  deadLetters: obj({ project_id: projectId, limit: { type: 'integer', minimum: 1, maximum: 10000 } }, ['project_id']),
  redrive: {
    ...obj({ project_id: projectId, task_id: taskId, all: { const: true }, agent_id: agentId }, ['project_id']),
    // exactly one of task_id and all
    oneOf: [
      { properties: { task_id: taskId }, required: ['task_id'] },
      { properties: { all: { const: true } }, required: ['all'] },
    ],
  },
  escalations: obj({ project_id: projectId, status: { enum: ['open', 'resolved', 'all'] } }, ['project_id']),
  resolveEscalation: obj(
    {
      project_id: projectId,
      escalation_id: { type: 'string', pattern: '^esc-[0-9a-f]{12}$' },
      action: { enum: ['retry', 'cancel', 'done', 'unblock'] },
      output: jsonObject,
      note: text(5000),
      agent_id: agentId,
    },
    ['project_id', 'escalation_id', 'action'],
  ),
  agents: obj({ project_id: projectId }, ['project_id']),
  release: obj({ ...lease, reason: text(5000) }, ['project_id', 'task_id', 'agent_id', 'lease_token']),
  agentTasks: obj({ project_id: projectId, agent_id: agentId }, ['project_id', 'agent_id']),
  sendMessage: obj(
    { project_id: projectId, from_agent: agentId, to_agent: agentId, body: text(20000), thread_id: text(200) },
    ['project_id', 'from_agent', 'to_agent', 'body'],
  ),
  inbox: obj(
    { project_id: projectId, agent_id: agentId, since: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: 500 } },
    ['project_id', 'agent_id'],
  ),
  fsck: obj({ project_id: projectId, repair: { type: 'boolean' } }, ['project_id']),
  exportProject: obj({ project_id: projectId, path: filePath, events: { type: 'boolean' } }, ['project_id', 'path']),
  importProject: obj({ path: filePath }, ['path']),
  skills: obj({ project_id: projectId, task_id: taskId }, ['project_id']),
  skill: obj({ project_id: projectId, name: skillName }, ['project_id', 'name']),
  renderSkill: obj(
    {
      project_id: projectId,
      name: skillName,
      task_id: taskId,
      arguments: { type: 'object', maxProperties: 50, propertyNames: { pattern: ARGUMENT_NAME_PATTERN }, additionalProperties: { type: 'string', maxLength: 100_000 } },
      agent_id: agentId,
    },
    ['project_id', 'name'],
  ),
  skillStats: obj({ project_id: projectId }, ['project_id']),
  workflows: obj({ project_id: projectId }, ['project_id']),
  workflow: obj({ project_id: projectId, name: skillName }, ['project_id', 'name']),
  runWorkflow: obj(
    {
      project_id: projectId,
      name: skillName,
      inputs: { type: 'object', maxProperties: 50, propertyNames: { pattern: '^[a-z][a-z0-9_]{0,63}$' } },
      dry_run: { type: 'boolean' },
      parent_id: taskId,
      run_key: text(200),
      budget_usd: { type: 'number', exclusiveMinimum: 0, maximum: MAX_BUDGET_USD },
      agent_id: agentId,
    },
    ['project_id', 'name'],
  ),
  workflowRuns: obj({ project_id: projectId, limit: { type: 'integer', minimum: 1, maximum: 500 } }, ['project_id']),
  metrics: obj({ project_id: projectId }, ['project_id']),
  workflowRun: obj({ project_id: projectId, run_id: { type: 'integer', minimum: 1 } }, ['project_id', 'run_id']),
  // The plan itself is checked against the decomposition-plan schema by the use case (its errors name plan
  // fields), and "exactly one of goal, spec_path, epic_id" there too (ajv's oneOf message says neither).
  decompose: obj(
      {
        project_id: projectId,
        goal: text(20_000),
        spec_path: text(1000),
        epic_id: taskId,
        plan: jsonObject,
        allow_flat: { type: 'boolean' },
        apply: { type: 'boolean' },
        plan_hash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
        include_file_tree: { type: 'boolean' },
        constraints: text(20_000),
        agent_id: agentId,
      },
      ['project_id'],
    ),
} as const;

export type ApiMethod = keyof typeof API_SCHEMAS;

/** A validator compiled ahead of time: ajv's standalone code, in api-validators.generated.ts. */
type CompiledValidator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/**
 * The validators of API_SCHEMAS (and USAGE_SCHEMA) are compiled ahead of time,
 * into api-validators.generated.ts: compiling them as a process started (ajv's
 * load, then each method's first call) cost the embedded daemon's first
 * answers ~0.13 s. After a change to a schema here, run
 * `LOOM_WRITE_GENERATED=1 npx vitest run tests/unit/generated-validators.test.ts`
 * (the test fails while the two differ).
 */
function validator(method: ApiMethod): CompiledValidator {
  return (compiled as unknown as Record<ApiMethod, CompiledValidator>)[method];
}

export { describeErrors } from './describe-errors.js';

/** What is wrong with a usage report (null: nothing), for a caller that would rather drop it than fail the report it rides on. */
export function usageProblem(usage: unknown): string | null {
  const usageValidator = (compiled as unknown as { usageReport: CompiledValidator }).usageReport;
  if (!usageValidator(usage)) return describeErrors(usageValidator.errors, 'usage');
  return findUnsafeText(usage);
}

const MAX_ERRORS_SAID = 20;

export function validateInput(method: ApiMethod, input: unknown): void {
  const validate = validator(method);
  if (!validate(input)) {
    // A bulk create can fail on thousands of items: name the first few (their paths hold their positions).
    const errors = validate.errors ?? [];
    const more = errors.length > MAX_ERRORS_SAID ? `; and ${errors.length - MAX_ERRORS_SAID} more` : '';
    throw validationFailed(`invalid ${method} input: ${describeErrors(errors.slice(0, MAX_ERRORS_SAID), 'input', /orkflow/.test(method) ? 'workflow' : 'skill')}${more}`, { method });
  }
  const unsafe = findUnsafeText(input);
  if (unsafe !== null) throw validationFailed(`invalid ${method} input: ${unsafe}`, { method });
}

/** Every task context of a plan (decomposition, workflow run) within the same limit as a single create's. */
export function checkPlanContexts(method: ApiMethod, tasks: ReadonlyArray<{ key: string; context: unknown }>, maxBytes: number): void {
  tasks.forEach((t, i) => checkJsonSize(method, `plan.tasks[${i}] (${t.key}).context`, t.context, maxBytes, 'tasks.max_context_bytes'));
}

/** A JSON body (context, output) over its byte limit is refused, naming the limit and the setting. */
export function checkJsonSize(method: ApiMethod, field: string, value: unknown, maxBytes: number, setting: string): void {
  if (value === undefined || value === null) return;
  const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
  if (bytes <= maxBytes) return;
  throw new LoomError('VALIDATION_FAILED', `invalid ${method} input: ${field} is ${bytes} bytes of JSON; at most ${maxBytes} are allowed`, {
    hint: `keep large material (logs, specs, diffs) in files of the project and put their paths in ${field}; the limit is ${setting} in .loom/config.yaml. Nothing was written`,
    details: { method, field, bytes, limit: maxBytes },
  });
}
