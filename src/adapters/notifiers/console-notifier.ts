import type { Writable } from 'node:stream';
import type { LoomEvent } from '../../domain/events.js';
import type { Notifier } from '../../ports/notifier.js';

export interface ConsoleNotifierOptions {
  name?: string;
  /** Where lines go; stderr by default, so stdout stays clean for `--json` output. */
  out?: Writable;
  /** Render times in the process's local time zone (default) or in UTC. */
  timeZone?: 'local' | 'utc';
}

/** Longest rendering of any free text taken from an event (reasons, messages, titles). */
const MAX_TEXT = 200;

/**
 * One readable line per event, e.g.
 * `12:03:04 task.done loom-1a2b3c4d by ada (attempt 1)`.
 */
export class ConsoleNotifier implements Notifier {
  readonly name: string;
  private readonly out: Writable;
  private readonly utc: boolean;
  private failed = false;
  // A closed pipe (EPIPE) must not crash Loom through an unhandled 'error' event.
  private readonly onError = (): void => {
    this.failed = true;
  };

  constructor(options: ConsoleNotifierOptions = {}) {
    this.name = options.name ?? 'console';
    this.out = options.out ?? process.stderr;
    this.utc = options.timeZone === 'utc';
    this.out.on('error', this.onError);
  }

  async notify(event: LoomEvent): Promise<void> {
    if (this.failed || this.out.destroyed) return;
    this.out.write(`${renderEventLine(event, this.utc)}\n`);
  }

  async close(): Promise<void> {
    this.out.off('error', this.onError);
  }
}

/** The line ConsoleNotifier writes for one event (without the newline). */
export function renderEventLine(event: LoomEvent, utc = false): string {
  const head = [clockTime(event.at, utc), event.type, event.task_id].filter((s) => s !== null && s !== '').join(' ');
  const detail = renderDetail(event);
  return detail === '' ? head : `${head} ${detail}`;
}

function renderDetail(e: LoomEvent): string {
  const p = e.payload;
  const by = e.agent_id === null ? '' : `by ${text(e.agent_id)}`;
  const attempt = num(p.attempt);
  const parts = (...xs: Array<string | undefined>): string => xs.filter((x) => x !== undefined && x !== '').join(' ');
  switch (e.type) {
    case 'task.created':
      return parts(quoted(p.title), paren([str(p.priority), str(p.status)]), by);
    case 'task.claimed':
    case 'task.done':
      return parts(by, paren([attempt === undefined ? undefined : `attempt ${attempt}`]));
    case 'task.failed': {
      const retry = p.retryable === true ? 'retryable' : p.retryable === false ? 'permanent' : undefined;
      return parts(by, paren([attempt === undefined ? undefined : `attempt ${attempt}`, retry])) + colon(p.reason);
    }
    case 'task.retrying': {
      const max = num(p.max_attempts);
      const delay = num(p.delay_ms);
      return paren([
        attempt === undefined ? undefined : max === undefined ? `attempt ${attempt}` : `attempt ${attempt}/${max}`,
        delay === undefined ? undefined : `retry in ${duration(delay)}`,
      ]);
    }
    case 'task.dead_lettered': {
      const attempts = num(p.attempts);
      return parts(
        attempts === undefined ? undefined : `after ${attempts} attempt${attempts === 1 ? '' : 's'}`,
        paren([str(p.why)?.replace(/_/g, ' ')]),
      ) + colon(p.reason);
    }
    case 'task.lease_expired':
      return parts(e.agent_id === null ? undefined : `held by ${text(e.agent_id)}`, paren([attempt === undefined ? undefined : `attempt ${attempt}`]));
    case 'task.unblocked':
    case 'task.blocked': {
      const after = str(p.by);
      return parts(after === undefined ? undefined : `(after ${text(after)})`, after === undefined ? paren([str(p.reason)]) : undefined);
    }
    case 'task.cancelled':
    case 'task.released':
      return parts(by) + colon(p.reason);
    case 'escalation.raised':
      return parts(by, paren([str(p.source)])) + colon(p.message);
    case 'escalation.resolved':
      return parts(by, paren([str(p.action)])) + colon(p.note ?? p.message);
    case 'message.sent': {
      const to = str(p.to);
      return parts(
        e.agent_id === null ? undefined : `from ${text(e.agent_id)}`,
        to === undefined ? 'to everyone' : `to ${text(to)}`,
        str(p.thread_id) === undefined ? undefined : `(thread ${text(str(p.thread_id)!)})`,
      );
    }
    default:
      return by;
  }
}

function clockTime(at: string, utc: boolean): string {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return '--:--:--';
  const two = (n: number): string => String(n).padStart(2, '0');
  return utc
    ? `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`
    : `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** Event text comes from agents: keep it on one line and free of terminal escapes. */
function text(s: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = s.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return flat.length > MAX_TEXT ? `${flat.slice(0, MAX_TEXT - 1)}…` : flat;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const quoted = (v: unknown): string | undefined => (str(v) === undefined ? undefined : `"${text(str(v)!)}"`);
const colon = (v: unknown): string => (str(v) === undefined ? '' : `: ${text(str(v)!)}`);

function paren(items: Array<string | undefined>): string {
  const xs = items.filter((x): x is string => x !== undefined && x !== '');
  return xs.length === 0 ? '' : `(${xs.map(text).join(', ')})`;
}

function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  return `${Math.round(s / 60)}m`;
}
