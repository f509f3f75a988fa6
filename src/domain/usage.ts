/**
 * Usage reports: what an agent spent on a task (tokens, money), sent with a
 * heartbeat, done or fail and added up per task, per epic (everything below
 * it), per workflow run (its epic), per agent and per project.
 *
 * Each report is an increment: what was spent since the agent's last report
 * on this task. Money is kept in integer micro-dollars (exact sums, no float
 * drift); tokens are integers. The bounds say what one report may carry:
 * anything beyond them is a bug or an attack, not a bill.
 */

/** Most tokens of one kind in one report (a thousand million). */
export const MAX_USAGE_TOKENS = 1_000_000_000;
/** Most dollars in one report. */
export const MAX_USAGE_COST_USD = 10_000;
export const MAX_USAGE_MODEL_LENGTH = 200;

export interface UsageReport {
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens?: number;
  cost_usd?: number;
  model?: string;
}

export const USAGE_GROUP_BY = ['task', 'epic', 'agent', 'day'] as const;
export type UsageGroupBy = (typeof USAGE_GROUP_BY)[number];

export type UsageKind = 'heartbeat' | 'done' | 'fail';

/** One accepted report, as it is stored with the report it came with. */
export interface UsageEntry {
  project_id: string;
  task_id: string;
  agent_id: string;
  kind: UsageKind;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cost_micros: number;
  model: string | null;
  at: Date;
}

/** Sums of reports. `cost_usd` is `cost_micros` / 10^6, for reading; the micros are the exact figure. */
export interface UsageTotals {
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cost_micros: number;
  cost_usd: number;
  reports: number;
}

export const NO_USAGE: UsageTotals = { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cost_micros: 0, cost_usd: 0, reports: 0 };

/** Dollars to micro-dollars, rounded half away from zero (`toPrecision` first drops the binary noise of `usd * 10^6`). */
export function costMicros(usd: number): number {
  return Math.round(Number((usd * 1_000_000).toPrecision(12)));
}

export function usageEntry(report: UsageReport, who: { project_id: string; task_id: string; agent_id: string; kind: UsageKind }, at: Date): UsageEntry {
  return {
    ...who,
    input_tokens: report.input_tokens,
    output_tokens: report.output_tokens,
    cache_read_tokens: report.cache_read_tokens ?? 0,
    cost_micros: report.cost_usd === undefined ? 0 : costMicros(report.cost_usd),
    model: report.model ?? null,
    at,
  };
}

export function totalsOf(sums: Omit<UsageTotals, 'cost_usd'>): UsageTotals {
  return { ...sums, cost_usd: sums.cost_micros / 1_000_000 };
}

/** `$0.012346`: dollars to the micro-dollar, as stored. */
export function formatUsd(micros: number): string {
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(micros);
  return `${sign}$${Math.floor(abs / 1_000_000)}.${String(abs % 1_000_000).padStart(6, '0')}`;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);

/**
 * The usage a JSON value reports, in one of the shapes an agent command prints:
 * - Claude Code's result (`claude -p --output-format json`): `total_cost_usd` and `usage`
 *   (`input_tokens`, `output_tokens`, `cache_read_input_tokens`), the model from `modelUsage`;
 * - Loom's own line: `{"loom_usage": {...}}` or `{"usage": {...}}` with the fields of a report.
 * Null when it has neither. The result is not checked against the bounds: the API does that.
 */
export function usageFromJson(value: unknown): UsageReport | null {
  if (!isRecord(value)) return null;
  const own = isRecord(value.loom_usage) ? value.loom_usage : null;
  const usage = own ?? (isRecord(value.usage) ? value.usage : null);
  if (usage === null) return null;
  const input = count(usage.input_tokens);
  const output = count(usage.output_tokens);
  if (input === undefined || output === undefined) return null;
  const report: UsageReport = { input_tokens: input, output_tokens: output };
  const cacheRead = count(usage.cache_read_tokens) ?? count(usage.cache_read_input_tokens);
  if (cacheRead !== undefined) report.cache_read_tokens = cacheRead;
  const cost = own === null && typeof value.total_cost_usd === 'number' ? value.total_cost_usd : usage.cost_usd;
  if (typeof cost === 'number') report.cost_usd = cost;
  const model = typeof usage.model === 'string' ? usage.model : isRecord(value.modelUsage) ? Object.keys(value.modelUsage)[0] : undefined;
  if (model !== undefined && model !== '') report.model = model;
  return report;
}

/** The usage in a command's stdout: the last line that is a JSON object reporting usage (or the whole of it, when that is one JSON object). */
export function usageFromOutput(stdout: string): UsageReport | null {
  const attempt = (text: string): UsageReport | null => {
    if (!text.startsWith('{')) return null;
    try {
      return usageFromJson(JSON.parse(text));
    } catch {
      return null;
    }
  };
  const lines = stdout.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const found = attempt(lines[i]!.trim());
    if (found !== null) return found;
  }
  return attempt(stdout.trim());
}
