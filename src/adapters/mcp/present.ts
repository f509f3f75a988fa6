import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { LoomError, type ErrorCode } from '../../domain/errors.js';

/** What a model sees of a failure: a stable code, a message, and what to do next. */
export interface ToolError {
  code: string;
  message: string;
  hint: string;
}

/** Where the API's hints speak to a person at a terminal, a model gets one in terms of its tools. */
const MODEL_HINTS: Partial<Record<ErrorCode, string>> = {
  NO_PROJECT: 'run `loom init` in the project directory (a human may need to do it), then restart this MCP server',
  PROJECT_NOT_FOUND: "run `loom init` in the project directory: it makes the project in this store (empty: an embedded store, .loom/data, belongs to one clone on one machine and is not in git; to share one task graph between clones and machines, use server mode, see Storage modes in Loom's README); or check project.id in .loom/config.yaml",
  LEASE_LOST:
    'the task went back to the queue: stop working on it and claim new work with loom_claim. Nothing you reported was recorded',
  TASK_NOT_FOUND: 'check the id with loom_ready or loom_status; ids look like loom-1a2b3c4d',
  NOT_CLAIMED: 'claim the task with loom_claim first; this session then remembers its lease',
  PROJECT_REMOVED:
    'an operator removed this project (`loom project remove`): its work was cancelled and it takes no more writes. Stop working on it; nothing you reported was recorded. Reads (loom_status, loom_ready) still work',
  BUDGET_EXCEEDED:
    'the money budget over this work is spent: no new claims until a person raises it (`loom budget set`). Finish and report (loom_done) what you already hold; do not start new work, and tell the person if it is urgent',
};

const DEFAULT_HINTS: Partial<Record<ErrorCode, string>> = {
  VALIDATION_FAILED: 'fix the arguments and call again; nothing was written',
  INTERNAL: 'nothing you can fix: retry once, and if it fails again tell a human with loom_escalate',
};

const GENERIC_HINT = 'read the message, adjust the call and try again';

/**
 * Maps anything thrown to the shape shown to the model. A LoomError keeps
 * its code and message; anything else (and INTERNAL, whose message may carry
 * driver text from a daemon) becomes a plain "internal error" and is logged.
 */
export function toToolError(error: unknown, log: (line: string) => void, where: string): ToolError {
  if (LoomError.is(error) && error.code !== 'INTERNAL') {
    return {
      code: error.code,
      message: error.message,
      hint: MODEL_HINTS[error.code] ?? error.hint ?? DEFAULT_HINTS[error.code] ?? GENERIC_HINT,
    };
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  log(`loom mcp: internal error in ${where}: ${detail}`);
  const hint = LoomError.is(error) && error.hint !== undefined ? error.hint : DEFAULT_HINTS.INTERNAL!;
  return { code: 'INTERNAL', message: 'internal error', hint };
}

export function errorResult(error: ToolError): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text: JSON.stringify(error) }],
    structuredContent: { error: { ...error } },
  };
}

/** structuredContent must be an object: tools return objects (lists wrapped as {tasks: [...]}). */
export function okResult(result: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(result) }], structuredContent: result };
}

/**
 * A lease token is the proof of a claim: a model must never read another
 * session's (loom_status of a task someone else holds would otherwise show
 * it, and with it anyone could report on that task). Copies, never mutates:
 * API results may be shared with the service's caches in-process.
 */
export function hideForeignLeases(value: unknown, ownToken: (taskId: string) => string | undefined): unknown {
  if (Array.isArray(value)) return value.map((v) => hideForeignLeases(v, ownToken));
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(record)) {
    if (key === 'lease_token' && typeof v === 'string' && typeof record.id === 'string' && ownToken(record.id) !== v) continue;
    out[key] = key === 'context' || key === 'output' || key === 'payload' ? v : hideForeignLeases(v, ownToken);
  }
  return out;
}
