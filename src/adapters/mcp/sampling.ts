import type { CreateMessageRequestParamsBase, CreateMessageResult } from '@modelcontextprotocol/sdk/types.js';
import type { JsonObject } from '../../domain/task.js';

/** The client's own model, reached with MCP sampling (sampling/createMessage) during one tool call. */
export interface Sampler {
  /** Whether the client advertised the sampling capability when it connected. */
  readonly available: boolean;
  /** Asks the client's model. The request belongs to the tool call: cancelling the call cancels it. */
  createMessage(params: CreateMessageRequestParamsBase): Promise<CreateMessageResult>;
}

/** How long the client's model may take to write a plan: a long answer, and a human may have to approve the request first. */
export const SAMPLING_TIMEOUT_MS = 10 * 60_000;

/** Balanced-brace candidates tried before giving up: bounds the work on a long reply full of stray braces. */
const MAX_CANDIDATES = 100;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Index of the `}` closing the `{` at `start` (strings and escapes skipped), or -1. */
function closingBrace(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

const parseObject = (s: string): JsonObject | undefined => {
  try {
    const v: unknown = JSON.parse(s);
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
};

/**
 * The first JSON object in a model's reply. Models wrap JSON in ```json
 * fences or a sentence despite being told not to: a fenced block that parses
 * wins, else the first `{...}` that does.
 */
export function firstJsonObject(text: string): JsonObject | undefined {
  for (const m of text.matchAll(/```[a-zA-Z]*[ \t]*\r?\n([\s\S]*?)```/g)) {
    const fenced = parseObject(m[1]!.trim());
    if (fenced !== undefined) return fenced;
  }
  let tried = 0;
  for (let start = text.indexOf('{'); start !== -1 && tried < MAX_CANDIDATES; start = text.indexOf('{', start + 1)) {
    const end = closingBrace(text, start);
    if (end === -1) continue;
    tried++;
    const found = parseObject(text.slice(start, end + 1));
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The plan in a reply: the object itself, or its `plan` when the model wrapped it as {"plan": {...}}. */
export function planFromReply(text: string): JsonObject | undefined {
  const found = firstJsonObject(text);
  if (found === undefined) return undefined;
  return found.tasks === undefined && isObject(found.plan) ? found.plan : found;
}
