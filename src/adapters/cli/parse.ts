import { USAGE_GROUP_BY, usageFromJson, type UsageGroupBy, type UsageReport } from '../../domain/usage.js';
import { MAX_BUDGET_USD } from '../../domain/budget.js';
import { validationFailed } from '../../domain/errors.js';
import { GRAPH_FORMATS, type GraphFormat } from '../../domain/graph.js';
import { PRIORITIES, TASK_STATUSES, type JsonObject, type Origin, type Priority, type TaskStatus } from '../../domain/task.js';
import { groupDigits } from './output.js';

/*
 * Flag parsing for the CLI. Each helper turns a raw flag into the value the
 * API expects, or throws VALIDATION_FAILED (exit 1, with a hint) so that a
 * malformed flag never reaches the API. Deeper validation is the API's job.
 */

const describe = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;

/** `--context '{"k":1}'`: must parse, and must be a JSON object. */
export function parseJsonObject(flag: string, text: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw validationFailed(`${flag} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`, {
      flag,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw validationFailed(`${flag} must be a JSON object like '{"key": "value"}', got ${describe(value)}`, { flag });
  }
  return value as JsonObject;
}

export function parseOptionalJsonObject(flag: string, text: string | undefined): JsonObject | undefined {
  return text === undefined ? undefined : parseJsonObject(flag, text);
}

/** The person at this terminal: $USER (or $USERNAME), else "operator". */
export function operatorName(env: Record<string, string | undefined>): string {
  const user = env.USER || env.USERNAME;
  return user !== undefined && user !== '' ? user : 'operator';
}

/** Who is speaking: the flag, else $LOOM_AGENT_ID (an agent's job), else the person at this terminal. */
export function agentOrOperator(given: string | undefined, env: Record<string, string | undefined>): string {
  return given ?? (env.LOOM_AGENT_ID || operatorName(env));
}

/** `--origin KIND:ID`; without it, the operator at this terminal: `cli:$USER`. */
export function parseOrigin(text: string | undefined, env: Record<string, string | undefined>): Origin {
  if (text === undefined) return { kind: 'cli', id: operatorName(env) };
  const colon = text.indexOf(':');
  const kind = colon < 0 ? '' : text.slice(0, colon).trim();
  const id = colon < 0 ? '' : text.slice(colon + 1).trim();
  if (kind === '' || id === '') {
    throw validationFailed(`--origin must look like KIND:ID (for example agent:claude-1), got '${text}'`, {
      flag: '--origin',
    });
  }
  return { kind, id };
}

export function parsePriority(text: string | undefined): Priority | undefined {
  if (text === undefined) return undefined;
  const p = text.trim().toLowerCase();
  if ((PRIORITIES as readonly string[]).includes(p)) return p as Priority;
  throw validationFailed(`--priority must be one of ${PRIORITIES.join(', ')} (p0 is the most urgent), got '${text}'`, {
    flag: '--priority',
  });
}

export function parseGraphFormat(text: string | undefined): GraphFormat {
  if (text === undefined) return 'summary';
  if ((GRAPH_FORMATS as readonly string[]).includes(text)) return text as GraphFormat;
  throw validationFailed(`--format must be one of ${GRAPH_FORMATS.join(', ')}, got '${text}'`, { flag: '--format' });
}

function parseInteger(flag: string, text: string, min: number, what: string): number {
  const trimmed = text.trim();
  const n = /^[+-]?\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw validationFailed(`${flag} must be ${what}, got '${text}'`, { flag });
  }
  return n;
}

/** `--limit`, `--max-attempts`, `--lease-seconds`: a whole number of at least 1. */
export function parsePositiveInt(flag: string, text: string | undefined): number | undefined {
  return text === undefined ? undefined : parseInteger(flag, text, 1, 'a positive integer');
}

/** `--since`: an event id, 0 meaning from the start. */
export function parseNonNegativeInt(flag: string, text: string | undefined): number | undefined {
  return text === undefined ? undefined : parseInteger(flag, text, 0, 'a non-negative integer');
}

/** `--status pending --status blocked,claimed` -> the statuses, each checked, de-duplicated in order. */
export function parseStatuses(values: readonly string[] | undefined): TaskStatus[] | undefined {
  const words = parseIdList(values);
  if (words === undefined || words.length === 0) return undefined;
  const statuses = [...new Set(words.map((w) => w.toLowerCase()))];
  const unknown = statuses.filter((s) => !(TASK_STATUSES as readonly string[]).includes(s));
  if (unknown.length > 0) {
    throw validationFailed(`--status must be one of ${TASK_STATUSES.join(', ')}, got '${unknown.join("', '")}'`, { flag: '--status' });
  }
  return statuses as TaskStatus[];
}

/** `--depends-on A --depends-on B,C` -> [A, B, C], trimmed and de-duplicated in order. */
export function parseIdList(values: readonly string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  const ids = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  return [...new Set(ids)];
}

/**
 * `--label a --label b,c` -> [a, b, c], trimmed, a repeat collapsed. Case is kept as typed: a label
 * is lower case, and one that is not is refused by the API (naming it), never lower-cased quietly.
 */
export function parseLabels(values: readonly string[] | undefined): string[] | undefined {
  return parseIdList(values);
}

/**
 * `--usage JSON`: a usage object (`{"input_tokens":..,"output_tokens":..,"cost_usd":..}`), or a whole
 * Claude Code result (`claude -p --output-format json`), whose `usage` and `total_cost_usd` are taken.
 * The API checks the figures.
 */
export function parseOptionalUsage(text: string | undefined): UsageReport | undefined {
  if (text === undefined) return undefined;
  const value = parseJsonObject('--usage', text);
  if ('input_tokens' in value || 'output_tokens' in value) return value as unknown as UsageReport;
  return usageFromJson(value) ?? (value as unknown as UsageReport);
}

/** `--by` of `loom costs`. */
export function parseUsageGroupBy(text: string | undefined): UsageGroupBy | undefined {
  if (text === undefined) return undefined;
  if ((USAGE_GROUP_BY as readonly string[]).includes(text)) return text as UsageGroupBy;
  throw validationFailed(`--by must be one of ${USAGE_GROUP_BY.join(', ')}, got '${text}'`, { flag: '--by' });
}

/** `--since` of `loom costs`: an age (`7d`, `12h`, `30m`) becomes the time that long before now; a date or time goes to the API as it is. */
export function parseSince(text: string | undefined, now: Date): string | undefined {
  if (text === undefined) return undefined;
  const age = /^(\d{1,6})([dhm])$/.exec(text.trim());
  if (age === null) return text.trim();
  const ms = Number(age[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[age[2] as 'd' | 'h' | 'm'];
  return new Date(now.getTime() - ms).toISOString();
}

/** A budget in dollars as typed: 25, 12.50 or $12.50 (above 0); undefined when not given. */
export function parseBudgetUsd(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const plain = text.trim().replace(/^\$/, '');
  const usd = /^\d{1,10}(\.\d{1,6})?$/.test(plain) ? Number(plain) : Number.NaN;
  if (!Number.isFinite(usd) || usd <= 0 || usd > MAX_BUDGET_USD) {
    throw validationFailed(`${flag} must be a number of dollars above 0, such as 25 or 12.50 (at most 6 decimals, at most ${groupDigits(MAX_BUDGET_USD)}): got ${JSON.stringify(text.slice(0, 40))}`, { field: flag });
  }
  return usd;
}
