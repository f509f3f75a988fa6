import type { DecomposeApplied, DecomposeDryRun, PlannedTaskView } from '../../ports/loom-api.js';
import { plural, shellQuote } from './output.js';

/*
 * What `loom decompose` prints for people. Pure: a result in, lines out (the
 * command escapes them with printable() when it prints).
 */

/** Titles longer than this overflow their column instead of widening it. */
const TITLE_COLUMN_MAX = 60;

export const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** What the plan goes under: a new epic (its title) or an existing one (its id). */
export function parentLine(dry: DecomposeDryRun): string {
  return 'epic_id' in dry.parent
    ? `Under epic ${dry.parent.epic_id} (plan "${oneLine(dry.title)}"): ${plural(dry.tasks.length, 'task')}`
    : `New epic "${oneLine(dry.parent.new_epic)}": ${plural(dry.tasks.length, 'task')}`;
}

/**
 * The dry run as a tree: the epic, then its tasks grouped by wave, each as
 * `key  title  [priority]  <- dependencies`; then the critical path, the
 * warnings, the counts and the plan hash.
 */
export function renderDryRun(dry: DecomposeDryRun): string[] {
  const byKey = new Map(dry.tasks.map((t) => [t.key, t]));
  const waitsOutside = (key: string) => (byKey.get(key)?.depends_on ?? []).some((d) => !byKey.has(d));
  // Certain only for a new epic whose first tasks wait for nothing outside the plan.
  const firstNote = (keys: readonly string[]) => ('epic_id' in dry.parent || keys.some(waitsOutside) ? 'first; may wait for existing tasks' : 'can start now');
  const lines = [parentLine(dry), '', ...waveLines(dry.tasks, dry.waves, firstNote)];
  lines.push('', `Critical path (${plural(dry.critical_path_length, 'task')}): ${dry.critical_path.join(' -> ')}`);
  if (dry.warnings.length === 0) {
    lines.push('Warnings: none');
  } else {
    lines.push(`Warnings (${dry.warnings.length}):`);
    for (const w of dry.warnings) lines.push(`  ${w.code}: ${oneLine(w.message)}`);
  }
  const existing = dry.counts.existing_dependencies;
  lines.push(
    `Counts: ${plural(dry.counts.tasks, 'task')}, ${plural(dry.counts.edges, 'edge')}, ${plural(dry.waves.length, 'wave')}${existing === 0 ? '' : `, ${plural(existing, 'existing task')} depended on`}`,
    `Plan hash: ${dry.plan_hash}`,
  );
  return lines;
}

/**
 * Planned tasks grouped by wave: `Wave N` (the first with `firstNote` in
 * brackets), then each task as `key  title  [priority]  <- dependencies`.
 * Shared by `loom decompose` and `loom workflow run --dry-run`.
 */
export function waveLines(tasks: readonly PlannedTaskView[], waves: readonly (readonly string[])[], firstNote: (keys: readonly string[]) => string): string[] {
  const byKey = new Map(tasks.map((t) => [t.key, t]));
  const keyWidth = Math.max(0, ...tasks.map((t) => t.key.length));
  // Aligned up to a point: one long title must not push every other line wide.
  const titleWidth = Math.min(TITLE_COLUMN_MAX, Math.max(0, ...tasks.map((t) => oneLine(t.title).length)));
  const lines: string[] = [];
  waves.forEach((keys, i) => {
    lines.push(i === 0 ? `Wave 1 (${firstNote(keys)})` : `Wave ${i + 1}`);
    for (const key of keys) {
      const t = byKey.get(key);
      if (t === undefined) continue;
      const deps = t.depends_on.length === 0 ? '' : `  <- ${t.depends_on.join(', ')}`;
      lines.push(`  ${t.key.padEnd(keyWidth)}  ${oneLine(t.title).padEnd(titleWidth)}  [${t.priority}]${deps}`.trimEnd());
    }
  });
  return lines;
}

/** After --apply: what was written (or found written before), then each key's task id. */
export function renderApplied(applied: DecomposeApplied, dry: DecomposeDryRun): string[] {
  const existingEpic = 'epic_id' in dry.parent;
  const head = !applied.created
    ? `Already applied: epic ${applied.epic_id}, nothing new written`
    : existingEpic
      ? `Added ${plural(applied.counts.tasks, 'task')} to epic ${applied.epic_id}`
      : `Created epic ${applied.epic_id} with ${plural(applied.counts.tasks, 'task')}`;
  const keys = Object.keys(applied.tasks);
  const order = [...dry.waves.flat().filter((k) => k in applied.tasks), ...keys.filter((k) => !dry.waves.flat().includes(k))];
  const width = Math.max(0, ...order.map((k) => k.length));
  return [head, ...order.map((k) => `  ${k.padEnd(width)}  ${applied.tasks[k]}`), '', 'loom ready shows what can start now; loom graph --format waves shows the rest.'];
}

/** The flags that name what is decomposed, for a command to paste. */
export function targetFlags(target: { goal?: string; spec?: string; epic?: string }): string {
  if (target.epic !== undefined) return `--epic ${shellQuote(target.epic)}`;
  if (target.spec !== undefined) return `--spec ${shellQuote(target.spec)}`;
  const goal = target.goal ?? '';
  return goal.length <= 200 && !/[\n\r]/.test(goal) ? `--goal ${shellQuote(goal)}` : `--goal '<the same goal>'`;
}

/** After the skill text: how to get from a plan to the graph without MCP. */
export function promptNextLines(flags: string): string[] {
  return [
    'Next (from a shell, without MCP): save the plan the skill asks for to a file, as JSON (plan.json) or YAML (plan.yaml), then dry-run it:',
    `  loom decompose ${flags} --plan plan.json`,
    'Nothing is written until you run the same command with --apply.',
  ];
}
