import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { MAX_LEASE_SECONDS } from '../../../domain/lease.js';
import { PRIORITIES, TASK_ID_PATTERN } from '../../../domain/task.js';
import type { LoomApi } from '../../../ports/loom-api.js';
import type { Sampler } from '../sampling.js';
import type { McpSession } from '../session.js';

/** What a tool handler gets: the API, the session's project, the session itself and, per call, the client's model. */
export interface ToolContext {
  api: LoomApi;
  project_id: string;
  session: McpSession;
  log: (line: string) => void;
  /** MCP sampling for this call: ask the client's model (when it offers that). */
  sampling: Sampler;
}

export interface JsonSchemaObject {
  [keyword: string]: unknown;
  type: 'object';
  properties: Record<string, object>;
  required?: string[];
  additionalProperties: false;
}

/**
 * One MCP tool: a description written for the model, a plain JSON Schema of
 * its arguments (checked with ajv before `run` sees them) and a thin handler
 * that calls one use case and returns an object.
 */
export interface LoomTool<A = Record<string, unknown>> {
  name: string;
  group: string;
  description: string;
  inputSchema: JsonSchemaObject;
  annotations: ToolAnnotations;
  run(args: A, ctx: ToolContext): Promise<Record<string, unknown>>;
}

/** Keeps each tool's argument type while the registry holds them as one list. */
export const defineTool = <A>(tool: LoomTool<A>): LoomTool => tool as unknown as LoomTool;

export const obj = (properties: Record<string, object>, required: string[] = []): JsonSchemaObject => ({
  type: 'object',
  properties,
  ...(required.length === 0 ? {} : { required }),
  additionalProperties: false,
});

const described = <T extends object>(schema: T, description?: string): T & { description?: string } =>
  description === undefined ? schema : { ...schema, description };

export const taskId = (description?: string) => described({ type: 'string', pattern: TASK_ID_PATTERN.source }, description);
export const text = (max: number, description?: string) => described({ type: 'string', minLength: 1, maxLength: max }, description);
export const int = (minimum: number, maximum: number, description?: string) => described({ type: 'integer', minimum, maximum }, description);
export const priority = (description?: string) => described({ enum: [...PRIORITIES] }, description);
export const leaseToken = { type: 'string', minLength: 1, maxLength: 200, description: "Default: this session's lease" };
export const leaseSeconds = int(1, MAX_LEASE_SECONDS, 'Seconds (default 300)');
/** Labels: the API checks each (LABEL_PATTERN, at most MAX_LABELS, no repeats) and names the field; the schema stays short for tools/list. */
export const labels = (description?: string) => described({ type: 'array', items: { type: 'string' } }, description);
export const jsonObject = (description?: string) => described({ type: 'object' }, description);
/** Usage on heartbeat, done and fail: described once (loom_done), checked in full by the API (bounds, no extra keys). */
export const usage = (full: boolean) => jsonObject(full ? 'Spent since last report: {input_tokens,output_tokens,cache_read_tokens?,cost_usd?,model?}' : undefined);

export const READ_ONLY: ToolAnnotations = { readOnlyHint: true };
export const SAFE_WRITE: ToolAnnotations = { readOnlyHint: false, destructiveHint: false };
