/**
 * Telling a rate-limited agent from a failed one, from how its process ended.
 * A rate limit is not the task failing: the runner reports it with
 * `rate_limited` (no attempt used, ready again at the reset) and pauses its
 * own claims until then, instead of burning every task's attempts overnight.
 *
 * What counts as a rate limit:
 * - Claude Code's own words, on stdout or stderr: its JSON result
 *   (`-p --output-format json`) with `is_error: true` whose `result` says the
 *   usage limit was reached, `Claude AI usage limit reached|<epoch seconds>`,
 *   "Claude usage limit reached. Your limit will reset at 3pm (Europe/Berlin).",
 *   "You've hit your limit ... resets 9:30 AM", or an API `rate_limit_error`;
 * - an exit code the user names (`--rate-limit-exit-code`);
 * - a regular expression the user gives (`--rate-limit-pattern`); a named
 *   group `reset` in it may carry the reset time (epoch seconds or
 *   milliseconds, or an ISO 8601 time).
 * Without a reset time in the text, the pause is `defaultWaitMs`. Only the
 * last bytes of each stream are read, and generic words like "rate limit"
 * alone are not enough (an agent may be working on a rate limiter).
 */

export interface RateLimitRule {
  /** Exit codes that mean "rate-limited" for this agent command. */
  exitCodes: readonly number[];
  /** Matched against the end of stdout and stderr. */
  pattern: RegExp | null;
  /** The wait when the output names no reset time. */
  defaultWaitMs: number;
}

export const DEFAULT_RATE_LIMIT_WAIT_MS = 5 * 60_000;
export const DEFAULT_RATE_LIMIT_RULE: RateLimitRule = { exitCodes: [], pattern: null, defaultWaitMs: DEFAULT_RATE_LIMIT_WAIT_MS };

export interface RateLimitHit {
  reset_at: Date;
  /** Where the reset time came from, for the log and the task's reason. */
  why: string;
}

const SCAN_BYTES = 8192;

const CLAUDE_PIPE = /Claude AI usage limit reached\|(\d{10,13})/;
const CLAUDE_WORDS = /(?:Claude (?:AI )?usage limit reached|You(?:'|’)ve hit your (?:usage )?limit|"type"\s*:\s*"rate_limit_error")/i;
const RESET_AT = /resets?(?: at)? (?:(\d{1,2})(?::(\d{2}))?\s*([ap]\.?m\.?)?)(?:\s*\(([A-Za-z_]+(?:\/[A-Za-z0-9_+\-]+){0,2})\))?/i;

function tail(text: string): string {
  return text.length <= SCAN_BYTES ? text : text.slice(text.length - SCAN_BYTES);
}

/** The rate limit this outcome shows, or null when it is an ordinary failure. */
export function detectRateLimit(out: { code: number; stdout: string; stderr_tail: string }, rule: RateLimitRule, now: Date): RateLimitHit | null {
  const text = `${tail(out.stdout)}\n${tail(out.stderr_tail)}`;
  const fallback = (why: string): RateLimitHit => ({ reset_at: new Date(now.getTime() + rule.defaultWaitMs), why: `${why}; no reset time given, waiting ${Math.round(rule.defaultWaitMs / 1000)} s` });
  const fromText = (why: string): RateLimitHit => {
    const reset = resetFromText(text, now);
    return reset === null ? fallback(why) : { reset_at: reset, why };
  };

  if (rule.pattern !== null) {
    const m = rule.pattern.exec(text);
    if (m !== null) {
      const named = m.groups?.reset === undefined ? null : parseInstant(m.groups.reset);
      return named === null ? fromText('the output matched --rate-limit-pattern') : { reset_at: named, why: 'the output matched --rate-limit-pattern' };
    }
  }
  if (rule.exitCodes.includes(out.code)) return fromText(`exit code ${out.code} (--rate-limit-exit-code)`);
  // A Claude Code JSON result speaks for stdout: its text is the model's answer unless it is an error
  // (an agent writing about usage limits is not rate-limited). Without one, the end of stdout is read too.
  const claude = claudeResult(out.stdout);
  const words = claude === null ? text : `${claude.is_error ? claude.result : ''}\n${tail(out.stderr_tail)}`;
  if (CLAUDE_WORDS.test(words) || CLAUDE_PIPE.test(words)) {
    const reset = resetFromText(words, now);
    const why = 'Claude Code reported its usage limit';
    return reset === null ? fallback(why) : { reset_at: reset, why };
  }
  return null;
}

/** Claude Code's JSON result (among the last lines of stdout), if it printed one. */
function claudeResult(stdout: string): { is_error: boolean; result: string } | null {
  const lines = tail(stdout).trim().split('\n');
  for (let i = lines.length - 1; i >= 0 && i >= lines.length - 5; i--) {
    const line = lines[i]!.trim();
    if (!line.startsWith('{')) continue;
    try {
      const v = JSON.parse(line) as { type?: unknown; is_error?: unknown; result?: unknown };
      if (v.type === 'result') return { is_error: v.is_error === true, result: typeof v.result === 'string' ? v.result : '' };
    } catch {
      // not JSON
    }
  }
  return null;
}

/** Epoch seconds or milliseconds, or an ISO 8601 time. */
function parseInstant(value: string): Date | null {
  const v = value.trim();
  if (/^\d{10}$/.test(v)) return new Date(Number(v) * 1000);
  if (/^\d{13}$/.test(v)) return new Date(Number(v));
  if (/^\d{4}-\d{2}-\d{2}T/.test(v)) {
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  return null;
}

/** A reset time written in the output: `...reached|<epoch>`, or "reset(s) (at) 3pm (Zone/Name)". */
export function resetFromText(text: string, now: Date): Date | null {
  const pipe = CLAUDE_PIPE.exec(text);
  if (pipe !== null) return parseInstant(pipe[1]!);
  const m = RESET_AT.exec(text);
  if (m === null) return null;
  let hour = Number(m[1]);
  const minute = m[2] === undefined ? 0 : Number(m[2]);
  const meridiem = m[3]?.replace(/\./g, '').toLowerCase();
  if (minute > 59 || hour > 23 || (meridiem !== undefined && (hour < 1 || hour > 12))) return null;
  if (meridiem === 'pm' && hour !== 12) hour += 12;
  if (meridiem === 'am' && hour === 12) hour = 0;
  return nextWallTime(now, hour, minute, m[4]);
}

/** The next instant after `now` at which the wall clock of `timeZone` (default: this machine's) shows hour:minute. */
export function nextWallTime(now: Date, hour: number, minute: number, timeZone?: string): Date | null {
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  } catch {
    if (timeZone === undefined) return null;
    return nextWallTime(now, hour, minute); // an unknown zone name: this machine's clock
  }
  const offsetAt = (t: number): number => {
    const p = Object.fromEntries(fmt.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
    return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour) % 24, Number(p.minute), Number(p.second)) - (t - (t % 1000));
  };
  const off = offsetAt(now.getTime());
  const wallNow = new Date(now.getTime() + off);
  for (let add = 0; add <= 1; add++) {
    const wall = Date.UTC(wallNow.getUTCFullYear(), wallNow.getUTCMonth(), wallNow.getUTCDate() + add, hour, minute);
    const guess = wall - off;
    const t = wall - offsetAt(guess); // once more, in case a DST change lies between
    if (t > now.getTime()) return new Date(t);
  }
  return null;
}
