import { formatUsd, type UsageTotals } from '../../domain/usage.js';
import type { Writable } from 'node:stream';

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  align?: 'left' | 'right';
}

let colored = false;

/** Whether tables colour their STATUS column: runCli sets it from the terminal (a TTY, no NO_COLOR, no --no-color). */
export function setTableColors(on: boolean): void {
  colored = on;
}

const SGR: Record<string, string> = { green: '32', red: '31', yellow: '33', cyan: '36', dim: '2' };
// A coloured cell is marked with two private-use characters that printable() lets through and
// withColors() turns into SGR codes as the very last step (escape codes themselves would be escaped).
const MARK_ON = '\ue000';
const MARK_OFF = '\ue001';
const MARKS = /[\ue000\ue001]/g;
const TINT_KEY: Record<string, string> = { green: 'g', red: 'r', yellow: 'y', cyan: 'c', dim: 'd' };
const KEY_SGR: Record<string, string> = { g: SGR.green!, r: SGR.red!, y: SGR.yellow!, c: SGR.cyan!, d: SGR.dim! };

/** Turns the colour marks of renderTable into terminal colours: call on text that went through printable(). */
export const withColors = (text: string): string =>
  text.replace(/\ue000([grycd])/g, (_m, k: string) => `\u001b[${KEY_SGR[k]}m`).replace(/\ue001/g, '\u001b[0m').replace(MARKS, '');
/** The colour of a status word, in every table that has a STATUS column (tasks, runs, escalations, agents, doctor checks). */
const STATUS_TINT: Record<string, string> = {
  done: 'green', ok: 'green', resolved: 'green', active: 'green',
  failed: 'red', fail: 'red', dead_lettered: 'red', gone: 'red',
  blocked: 'yellow', warn: 'yellow', escalated: 'yellow', open: 'yellow', idle: 'yellow',
  claimed: 'cyan', running: 'cyan',
  cancelled: 'dim', skipped: 'dim',
};

/**
 * An aligned table: a header row, then one line per row; no trailing spaces.
 * In a colour terminal (setTableColors) the STATUS column's words are
 * coloured, after padding, so the alignment is the same with and without.
 */
export function renderTable<T>(rows: readonly T[], columns: ReadonlyArray<Column<T>>): string {
  // (A stored value cannot carry the colour marks: they are replaced.)
  const cells = [columns.map((c) => c.header), ...rows.map((row) => columns.map((c) => oneLine(c.value(row)).replace(MARKS, '\ufffd')))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => (line[i] ?? '').length)));
  const status = colored ? columns.findIndex((c) => c.header === 'STATUS') : -1;
  return cells
    .map((line, row) =>
      line
        .map((cell, i) => {
          const width = widths[i] ?? 0;
          const padded = i === line.length - 1 && columns[i]?.align !== 'right' ? cell : columns[i]?.align === 'right' ? cell.padStart(width) : cell.padEnd(width);
          const tint = row > 0 && i === status ? STATUS_TINT[cell.trim()] : undefined;
          return tint === undefined ? padded : `${MARK_ON}${TINT_KEY[tint]}${cell}${MARK_OFF}${padded.slice(cell.length)}`;
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const oneLine = (text: string): string => text.replace(/\s+/g, ' ');

// C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides and isolates.
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text for a terminal: what anyone stored (a title, a reason) is shown, never
 * obeyed. An escape sequence in a task title would otherwise clear or rewrite
 * an operator's screen, and a bidi override would reorder what they read.
 */
export const printable = (text: string): string =>
  text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

const UNITS: Array<[string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
];

/** A short duration, rounded to its largest unit: 45s, 12m, 3h, 2d. */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  for (const [unit, size] of UNITS) {
    if (abs >= size) return `${Math.round(abs / size)}${unit}`;
  }
  return '0s';
}

/** "3m ago" or "in 5m", relative to `now`. */
export function relativeTime(iso: string, now: Date = new Date()): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const delta = at - now.getTime();
  if (Math.abs(delta) < 1_000) return 'now';
  return delta < 0 ? `${formatDuration(delta)} ago` : `in ${formatDuration(delta)}`;
}

/** Age of something created at `iso`: "12m", "3d". */
export function age(iso: string, now: Date = new Date()): string {
  const at = Date.parse(iso);
  return Number.isNaN(at) ? iso : formatDuration(Math.max(0, now.getTime() - at));
}

/** Local wall-clock time, to the second: 2025-01-31 14:05:09. */
export function shortTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A time both ways: "2025-01-31 14:05:09 (in 5m)". */
export function timeWithRelative(iso: string, now: Date = new Date()): string {
  return `${shortTime(iso)} (${relativeTime(iso, now)})`;
}

/** The `held` line of a task's detail: since when and why; undefined when it is not held. */
export function heldField(task: { held_at?: string | null; hold_reason?: string | null }, now: Date = new Date()): string | undefined {
  if (task.held_at === null || task.held_at === undefined) return undefined;
  return `since ${timeWithRelative(task.held_at, now)}${task.hold_reason === null || task.hold_reason === undefined ? '' : `: ${task.hold_reason}`} (loom resume to release)`;
}

/** One JSON document, 2-space indent, newline-terminated. */
export function printJson(stream: Writable, value: unknown): void {
  stream.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Quotes a word for a POSIX shell only when it needs it, so printed commands can be pasted. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export const listOrNone = (items: readonly string[]): string => (items.length === 0 ? 'none' : items.join(', '));

/** Aligned "key  value" lines; entries with an undefined value are left out. */
export function renderFields(fields: ReadonlyArray<[string, string | undefined]>): string {
  const shown = fields.filter((f): f is [string, string] => f[1] !== undefined);
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${k.padEnd(width)}  ${v}`.trimEnd()).join('\n');
}

export const indent = (text: string, by = '  '): string =>
  text
    .split('\n')
    .map((line) => (line === '' ? line : by + line))
    .join('\n');

/**
 * 1234567 as `1,234,567`. Not `toLocaleString`: its first call loads the
 * locale data (~30 ms of CPU), and a command's help text is built as the CLI starts.
 */
export function groupDigits(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString('en-US');
  const digits = String(Math.abs(n)).replace(/\B(?=(\d{3})+$)/g, ',');
  return n < 0 ? `-${digits}` : digits;
}

/** `$0.012346, 1,200 in, 340 out, 56,000 cache read (3 reports)`: a usage total in a line. */
export function usageSummary(u: UsageTotals, note = ''): string {
  const n = groupDigits;
  return `${formatUsd(u.cost_micros)}, ${n(u.input_tokens)} in, ${n(u.output_tokens)} out${u.cache_read_tokens === 0 ? '' : `, ${n(u.cache_read_tokens)} cache read`} (${u.reports} report${u.reports === 1 ? '' : 's'}${note})`;
}
