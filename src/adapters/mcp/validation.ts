import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import { LoomError } from '../../domain/errors.js';
import { findUnsafeText } from '../../domain/text.js';
import * as compiled from './tool-validators.generated.js';
import { ALL_TOOLS } from './tools/index.js';
import type { LoomTool } from './tools/tool.js';

/** A tool's export name in tool-validators.generated.ts: loom_run_workflow -> loomRunWorkflow. */
export function validatorName(toolName: string): string {
  return toolName.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

// Loom's own tools are checked by validators compiled ahead of time (ajv's standalone code, made from
// each tool's schema by tests/unit/generated-validators.test.ts): `loom mcp` neither loads ajv nor
// compiles a schema while the daemon it started is starting on the same cores. Keyed by the schema
// object itself, so a tool made elsewhere (a test's) is compiled with ajv on its first call.
const precompiled = new Map<object, ValidateFunction>();
for (const tool of ALL_TOOLS) {
  const v = (compiled as unknown as Record<string, ValidateFunction | undefined>)[validatorName(tool.name)];
  if (v !== undefined) precompiled.set(tool.inputSchema, v);
}
let ajv: Ajv | undefined;
const validators = new WeakMap<LoomTool, ValidateFunction>();

function validatorOf(tool: LoomTool): ValidateFunction {
  let v = validators.get(tool);
  if (v === undefined) {
    v = precompiled.get(tool.inputSchema);
    if (v === undefined) {
      ajv ??= new (createRequire(import.meta.url)('ajv') as typeof import('ajv')).Ajv({ allErrors: true, strict: true });
      v = ajv.compile(tool.inputSchema);
    }
    validators.set(tool, v);
  }
  return v;
}

/** ajv errors in words a model can act on, naming the argument. */
export function describeErrors(errors: readonly ErrorObject[] | null | undefined): string {
  const seen = new Set<string>();
  return (errors ?? [])
    .map((e) => {
      const where = e.instancePath === '' ? 'arguments' : e.instancePath.slice(1).replace(/\//g, '.');
      if (e.keyword === 'additionalProperties') return `${where}: unknown field "${String(e.params.additionalProperty)}"`;
      if (e.keyword === 'required') return `${where}: missing required field "${String(e.params.missingProperty)}"`;
      if (e.keyword === 'pattern' && /task_id|depends_on|parent_id/.test(where)) return `${where}: must be a task id like loom-1a2b3c4d`;
      if (e.keyword === 'enum') return `${where}: must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`;
      if (e.keyword === 'anyOf') return `${where}: does not match any allowed form`;
      return `${where}: ${e.message ?? 'is invalid'}`;
    })
    .filter((line) => !seen.has(line) && seen.add(line) !== undefined)
    .join('; ');
}

/** Checks a tool's arguments against its schema; throws VALIDATION_FAILED naming each bad field. */
export function validateArgs(tool: LoomTool, args: unknown): void {
  const validate = validatorOf(tool);
  const problem = validate(args) ? findUnsafeText(args) : describeErrors(validate.errors);
  if (problem === null) return;
  throw new LoomError('VALIDATION_FAILED', `invalid ${tool.name} arguments: ${problem}`, {
    hint: 'fix the arguments named above and call again; nothing was written',
    details: { tool: tool.name },
  });
}
