import type { ServiceIdentifier } from 'inversify';

/** One MCP tool call, timed by the server that answered it. */
export interface ToolCallSample {
  project_id: string;
  tool: string;
  /** `ok`, or the error code the call answered with. */
  code: string;
  seconds: number;
}

/**
 * Where an MCP server reports how long its tool calls took: an in-process
 * recorder (held in memory by the process that serves the tools; `loom serve`
 * exposes it at /metrics). Must be cheap and never throw.
 */
export interface ToolLatency {
  observe(sample: ToolCallSample): void;
}
export const ToolLatency: ServiceIdentifier<ToolLatency> = Symbol.for('loom.ToolLatency');
